/* Draw the figures the server built (Plotly JSON in #chart-figures) into [data-figure] boxes. */
(() => {
  "use strict";

  const source = document.getElementById("chart-figures");
  if (!source || !window.Plotly) return;
  const figures = JSON.parse(source.textContent);
  const text = getComputedStyle(document.body).color;
  const grid = "rgba(128,128,128,0.25)";

  document.querySelectorAll("[data-figure]").forEach((box) => {
    const figure = figures[box.dataset.figure];
    if (!figure) { box.closest("section").hidden = true; return; }
    const layout = Object.assign({}, figure.layout, { font: Object.assign({}, figure.layout.font, { color: text }) });
    for (const axis of ["xaxis", "yaxis"]) {
      layout[axis] = Object.assign({ gridcolor: grid, zerolinecolor: grid }, layout[axis]);
    }
    // No mode bar: its buttons would be focusable controls inside role="img", and they cover the chart.
    window.Plotly.newPlot(box, figure.data, layout, { responsive: true, displayModeBar: false });
    box.dataset.drawn = "true";
  });
})();
