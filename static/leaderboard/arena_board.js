/* The arena board's client-side controls: sort by a column, search, hide retired models.
 *
 * The rows come from the server (live.js swaps in a fresh fragment when the board changes); this
 * only reorders and hides them, and applies the same choices again after every swap. Rows whose
 * numbers changed in a swap flash briefly.
 */
(() => {
  "use strict";

  const root = document.getElementById("arena-board");
  if (!root) return;
  const search = document.querySelector("[data-board-search]");
  const hideRetired = document.querySelector("[data-board-hide-retired]");

  // Rank ascending is the server's order; every other column starts with the largest first.
  const state = { key: "rank", descending: false, query: "", hideRetired: false };
  const TEXT_KEYS = new Set(["name", "org"]);
  let previous = snapshotCells();

  function value(row, key) {
    const raw = row.dataset[key] ?? "";
    if (TEXT_KEYS.has(key)) return raw;
    return raw === "" ? null : Number(raw);
  }

  function compare(a, b) {
    const va = value(a, state.key);
    const vb = value(b, state.key);
    // Missing values go last whichever way the column is sorted.
    if (va === null || vb === null) return (va === null) - (vb === null);
    let order = TEXT_KEYS.has(state.key) ? String(va).localeCompare(String(vb)) : va - vb;
    if (state.descending) order = -order;
    return order || value(a, "rank") - value(b, "rank");
  }

  function apply() {
    const table = root.querySelector("table");
    if (!table) return;
    const body = table.tBodies[0];
    const rows = Array.from(body.querySelectorAll("tr[data-model]"));
    const breaks = body.querySelectorAll("tr[data-break]");
    const natural = state.key === "rank" && !state.descending;
    // Group headers only make sense in the server's order.
    breaks.forEach((row) => { row.hidden = !natural; });
    if (!natural) rows.sort(compare).forEach((row) => body.appendChild(row));
    const query = state.query.trim().toLowerCase();
    let shown = 0;
    rows.forEach((row) => {
      const matches = !query || row.dataset.name.includes(query) || row.dataset.org.includes(query) ||
        row.dataset.model.includes(query);
      const visible = matches && !(state.hideRetired && row.dataset.status === "retired");
      row.hidden = !visible;
      if (visible) shown++;
    });
    table.querySelectorAll("thead th").forEach((th) => {
      const button = th.querySelector("button[data-sort]");
      if (!button) return;
      if (button.dataset.sort === state.key) th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
    const count = root.querySelector("[data-board-count]");
    if (count) count.textContent = shown === rows.length ? "" : `Showing ${shown} of ${rows.length} models.`;
  }

  function snapshotCells() {
    const cells = new Map();
    root.querySelectorAll("tr[data-model]").forEach((row) => {
      cells.set(row.dataset.model, Array.from(row.querySelectorAll("[data-cell]"), (cell) => cell.textContent).join("|"));
    });
    return cells;
  }

  function flashChanged() {
    const now = snapshotCells();
    root.querySelectorAll("tr[data-model]").forEach((row) => {
      const before = previous.get(row.dataset.model);
      if (before !== undefined && before !== now.get(row.dataset.model)) row.classList.add("is-changed");
    });
    previous = now;
  }

  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-sort]");
    if (!button) return;
    const key = button.dataset.sort;
    if (state.key === key) state.descending = !state.descending;
    else { state.key = key; state.descending = !(key === "rank" || TEXT_KEYS.has(key)); }
    apply();
  });
  if (search) {
    search.addEventListener("input", () => { state.query = search.value; apply(); });
    // The search filters in place; Enter must not submit the minimum-votes form.
    search.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  }
  if (hideRetired) hideRetired.addEventListener("change", () => { state.hideRetired = hideRetired.checked; apply(); });

  // live.js replaces the board's children when the board changes: apply the choices again.
  new MutationObserver(() => { flashChanged(); apply(); }).observe(root, { childList: true });

  if (search) state.query = search.value;
  if (hideRetired) state.hideRetired = hideRetired.checked;
  apply();
})();
