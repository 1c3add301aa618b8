/* Swagger UI titles the page with an h1 and its operation groups with h3s: a heading between them
   keeps the outline in order for screen readers (axe's heading-order). */
(() => {
  "use strict";
  const root = document.getElementById("swagger-ui");
  if (!root) return;
  const place = () => {
    const info = root.querySelector(".information-container");
    if (!info || root.querySelector("#api-operations-heading")) return Boolean(info);
    const heading = document.createElement("h2");
    heading.id = "api-operations-heading";
    heading.className = "visually-hidden";
    heading.textContent = "Operations";
    info.after(heading);
    return true;
  };
  if (place()) return;
  const watch = new MutationObserver(() => { if (place()) watch.disconnect(); });
  watch.observe(root, { childList: true, subtree: true });
})();
