/* The page shows each chart as a picture the server drew (SVG). Once someone reaches for a chart (hovers,
   taps or focuses it) plotly.js is loaded and draws the figures the server built (Plotly JSON in
   #chart-figures) into the [data-figure] boxes, in place of the pictures, fitted to each box: a narrow box (a phone) gets short names, upright axis labels that cannot run into each
   other, only the best-rated models that fit (saying so, and where to find all), and heatmap cells
   without numbers once the numbers no longer fit; hover or a tap still tells. Redrawn when a box
   changes width (resize, orientation change). */
(() => {
  "use strict";

  const source = document.getElementById("chart-figures");
  const loader = document.querySelector("script[data-plotly]");
  if (!source || !loader) return;
  let figures = null;
  const text = getComputedStyle(document.body).color;
  const grid = "rgba(128,128,128,0.25)";
  const FONT = "system-ui, sans-serif";
  // The smallest heatmap cell or ratings slot: above a label's line height, so upright labels never touch.
  const MIN_CELL = 18;
  const MIN_SLOT = 16;
  const NARROW = 560;

  const measurer = document.createElement("canvas").getContext("2d");
  const textWidth = (value, size) => {
    measurer.font = `${size}px ${FONT}`;
    return measurer.measureText(String(value)).width;
  };
  const widest = (values, size) => values.reduce((most, value) => Math.max(most, textWidth(value, size)), 0);
  const shortName = (name, max) => (name.length > max ? `${name.slice(0, max - 1)}…` : name);

  const noteOf = (shown, total) =>
    shown < total
      ? { text: `The ${shown} best-rated of ${total} models.<br>All of them: the table below, or a wider screen.`,
          label: `, the ${shown} best-rated of ${total} models; the table below lists all of them` }
      : null;

  function baseLayout(figure, width, height, size) {
    const layout = Object.assign({}, figure.layout, {
      width, height, autosize: false,
      font: Object.assign({}, figure.layout.font, { color: text, size }),
    });
    for (const axis of ["xaxis", "yaxis"]) {
      layout[axis] = Object.assign({ gridcolor: grid, zerolinecolor: grid }, layout[axis]);
    }
    return layout;
  }

  function withNote(layout, note, size) {
    if (!note) return layout;
    // Inside the figure's own box, above the plot: the page around it never moves for it.
    layout.annotations = [{ text: note.text, showarrow: false, align: "left", xref: "paper", yref: "paper",
                            x: 0, xanchor: "left", y: 1, yanchor: "bottom", yshift: 6, font: { size: size - 1, color: text } }];
    layout.margin = Object.assign({}, layout.margin, { t: layout.margin.t + 2 * (size + 4) });
    return layout;
  }

  function fitMatrix(figure, width, height) {
    const narrow = width < NARROW;
    const size = narrow ? 10 : 12;
    const trace = figure.data[0];
    const names = trace.x;
    const total = names.length;
    const short = names.map((name) => shortName(name, narrow ? 14 : 22));
    const label = widest(short, size) + 8;
    const titleRoom = size + 10;
    const margin = { l: label + titleRoom, r: narrow ? 56 : 76, t: 20, b: label + titleRoom };
    const room = Math.min(width - margin.l - margin.r, height - margin.t - margin.b - 2 * (size + 4));
    const shown = Math.max(1, Math.min(total, Math.floor(room / MIN_CELL)));
    const note = noteOf(shown, total);
    const cell = room / shown;
    const cut = (row) => row.slice(0, shown);
    const z = trace.z.slice(0, shown).map(cut);
    const percent = /\.0%\}/.test(trace.texttemplate || "");
    const numbers = percent
      ? ["100%"]
      : z.flat().filter((value) => value !== null).map((value) => Math.round(value).toLocaleString("en"));
    const fits = cell >= widest(numbers.length ? numbers : ["0"], size) + 6 && cell >= size + 4;
    const data = [Object.assign({}, trace, {
      x: cut(names), y: cut(names), z,
      texttemplate: fits ? trace.texttemplate : "",
      textfont: { size },
      colorbar: Object.assign({}, trace.colorbar, { thickness: narrow ? 10 : 16,
                                                   tickfont: { size }, title: Object.assign({}, trace.colorbar.title, { font: { size } }) }),
    })];
    const upright = cell < widest(cut(short), size) + 6;
    const layout = baseLayout(figure, width, height, size);
    layout.margin = margin;
    layout.xaxis = Object.assign({}, layout.xaxis, {
      tickmode: "array", tickvals: cut(names), ticktext: cut(short), tickangle: upright ? -90 : 0,
      automargin: false, title: Object.assign({}, layout.xaxis.title, { font: { size }, standoff: 4 }),
    });
    // Square cells: the plot takes the smaller side, as `room` above assumed.
    layout.xaxis.constrain = "domain";
    layout.yaxis = Object.assign({}, layout.yaxis, {
      tickmode: "array", tickvals: cut(names), ticktext: cut(short), scaleanchor: "x", constrain: "domain",
      automargin: false, title: Object.assign({}, layout.yaxis.title, { font: { size }, standoff: 4 }),
    });
    return { data, layout: withNote(layout, note, size), note };
  }

  function fitRatings(figure, width, height) {
    const narrow = width < NARROW;
    const size = narrow ? 10 : 12;
    const trace = figure.data[0];
    const total = trace.x.length;
    const short = trace.x.map((name) => shortName(name, narrow ? 14 : 22));
    const margin = { l: narrow ? 52 : 64, r: 12, t: 20, b: widest(short, size) + 12 };
    const shown = Math.max(1, Math.min(total, Math.floor((width - margin.l - margin.r) / MIN_SLOT)));
    const note = noteOf(shown, total);
    const cut = (values) => (values ? values.slice(0, shown) : values);
    const slot = (width - margin.l - margin.r) / shown;
    const upright = slot < widest(cut(short), size) + 8;
    if (!upright) margin.b = size + 16;
    const data = [Object.assign({}, trace, {
      x: cut(trace.x), y: cut(trace.y), customdata: cut(trace.customdata),
      error_y: Object.assign({}, trace.error_y, { array: cut(trace.error_y.array), arrayminus: cut(trace.error_y.arrayminus) }),
    })];
    const layout = baseLayout(figure, width, height, size);
    layout.margin = margin;
    layout.xaxis = Object.assign({}, layout.xaxis, {
      tickmode: "array", tickvals: cut(trace.x), ticktext: cut(short), tickangle: upright ? -90 : 0, automargin: false,
    });
    layout.yaxis = Object.assign({}, layout.yaxis, { title: Object.assign({}, layout.yaxis.title, { font: { size } }) });
    return { data, layout: withNote(layout, note, size), note };
  }

  function fitHistory(figure, width, height) {
    const narrow = width < NARROW;
    const size = narrow ? 10 : 12;
    // The legend gets the short name; hover still tells the whole one.
    const data = figure.data.map((trace) => Object.assign({}, trace, {
      name: shortName(trace.name || "", narrow ? 14 : 28),
      hovertemplate: (trace.hovertemplate || "").replace("%{fullData.name}", () => trace.name || ""),
    }));
    const layout = baseLayout(figure, width, height, size);
    layout.margin = { l: narrow ? 56 : 68, r: 12, t: 20, b: 40 };
    // The dates' labels clear of the lowest rating's label in the corner they share.
    layout.xaxis = Object.assign({}, layout.xaxis, { nticks: narrow ? 4 : 8, ticklabelstandoff: 8 });
    layout.yaxis = Object.assign({}, layout.yaxis, { ticklabelstandoff: 4 });
    layout.legend = Object.assign({}, layout.legend, { font: { size }, y: -0.18, yanchor: "top" });
    return { data, layout, note: null };
  }

  const FIT = { ratings: fitRatings, history: fitHistory };

  const drawn = new Map();

  function draw(box) {
    const key = box.dataset.figure;
    const figure = figures[key];
    if (!figure) return;
    // The box's height is set by the stylesheet, pictures or not: the plot fills it and nothing moves.
    const width = Math.floor(box.clientWidth);
    const height = Math.floor(box.clientHeight);
    if (!width || drawn.get(box) === width) return;
    drawn.set(box, width);
    const fit = (FIT[key] || fitMatrix)(figure, width, height);
    box.querySelectorAll(".chart-picture").forEach((picture) => picture.remove());
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", box.dataset.label + (fit.note ? fit.note.label : ""));
    box.dataset.shown = String(fit.data[0] ? (fit.data[0].x || []).length : 0);
    // No mode bar: its buttons would be focusable controls inside role="img", and they cover the chart.
    window.Plotly.react(box, fit.data, fit.layout, { responsive: false, displayModeBar: false }).then(() => {
      box.dataset.drawn = "true";
      if (box.dataset.clicks || (key !== "ratings" && key !== "history")) return;
      box.dataset.clicks = "true";
      // A point is a model: open its page (the tables under the charts link them for the keyboard).
      box.on("plotly_click", (event) => {
        const slug = event.points && event.points[0] && event.points[0].customdata;
        if (slug) window.location.assign(`/models/${encodeURIComponent(slug)}/`);
      });
    });
  }

  // Once plotly.js is here, each chart is drawn as it nears the viewport, one per task: drawing all
  // five at once would hold the page's main thread for a long while on a phone.
  const boxes = Array.from(document.querySelectorAll("[data-figure]"));
  const near = new Set();
  const queue = [];
  let drawing = false;
  const drain = () => {
    const box = queue.shift();
    if (!box) { drawing = false; return; }
    draw(box);
    setTimeout(drain, 0);
  };
  const schedule = (box) => {
    if (!queue.includes(box)) queue.push(box);
    if (!drawing) { drawing = true; setTimeout(drain, 0); }
  };
  function start() {
    figures = JSON.parse(source.textContent);
    if (window.IntersectionObserver) {
      const watcher = new IntersectionObserver((entries) => {
        entries.forEach((entry) => {
          if (!entry.isIntersecting) return;
          near.add(entry.target);
          watcher.unobserve(entry.target);
          schedule(entry.target);
        });
      }, { rootMargin: "300px 0px" });
      boxes.forEach((box) => watcher.observe(box));
    } else {
      boxes.forEach((box) => { near.add(box); schedule(box); });
    }
    // A drawn chart is fitted again when its box changes width (a resize, the phone turned).
    let pending = 0;
    const redraw = () => {
      if (pending) return;
      pending = requestAnimationFrame(() => { pending = 0; boxes.filter((box) => near.has(box)).forEach(schedule); });
    };
    if (window.ResizeObserver) {
      const observer = new ResizeObserver(redraw);
      boxes.forEach((box) => observer.observe(box));
    }
    window.addEventListener("orientationchange", redraw);
    window.addEventListener("resize", redraw);
  }

  // plotly.js (about 1 MB to evaluate) is loaded only when someone reaches for a chart: the pictures
  // already say everything at first sight, so a visitor who only looks never pays for it.
  let loading = null;
  const load = (box) => {
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = loader.dataset.plotly;
        script.onload = resolve;
        script.onerror = reject;
        document.head.append(script);
      }).then(start, () => { loading = null; });
    }
    loading.then(() => { if (figures) { near.add(box); schedule(box); } });
  };
  document.querySelectorAll(".chart-card").forEach((card) => {
    const box = card.querySelector("[data-figure]");
    if (!box) return;
    for (const event of ["pointerenter", "focusin", "touchstart"]) {
      card.addEventListener(event, () => load(box), { passive: true, once: true });
    }
  });
})();
