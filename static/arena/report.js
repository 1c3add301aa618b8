/* Arena Hub — the battle page's "Report this battle" form (templates/arena/battle.html).
 *
 * Apart from battle.js on purpose: it needs only the battle's id, which the address holds once a
 * battle is on screen (battle.js shows /battles/<id>/ and sets body[data-battle-state]), and it posts
 * POST /api/v1/battles/<id>/report with the session's CSRF token.
 */
(() => {
  "use strict";

  const box = document.getElementById("report");
  if (!box) return;
  const API = "/api/v1";
  const BATTLE_PATH = /^\/battles\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;
  const open = document.getElementById("report-open");
  const form = document.getElementById("report-form");
  const reason = document.getElementById("report-reason");
  const details = document.getElementById("report-details");
  const cancel = document.getElementById("report-cancel");
  const status = document.getElementById("report-status");
  const send = form.querySelector("button[type=submit]");
  let reportedId = null; // the battle reported from this page, so that its form stays closed

  function battleId() {
    const m = BATTLE_PATH.exec(location.pathname);
    return m ? m[1].toLowerCase() : null;
  }

  async function csrfToken() {
    try {
      const r = await fetch(API + "/session", {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      if (r.ok) {
        const d = await r.json();
        if (d && typeof d.csrf_token === "string") return d.csrf_token;
      }
    } catch (_) { /* offline: no token; the CSRF cookie is HttpOnly, so none is read from it */ }
    return "";
  }

  function showForm(show) {
    form.hidden = !show;
    open.setAttribute("aria-expanded", String(show));
    if (show) reason.focus();
    else open.focus({ preventScroll: true });
  }

  /** The box follows the battle on screen: shown for one that has loaded, reset for another. */
  function sync() {
    const id = battleId();
    const state = document.body.dataset.battleState || "idle";
    const shown = !!id && state !== "idle" && state !== "loading";
    if (box.dataset.battle !== (id || "")) {
      box.dataset.battle = id || "";
      form.hidden = true;
      open.setAttribute("aria-expanded", "false");
      open.hidden = id !== null && id === reportedId;
      status.textContent = id !== null && id === reportedId ? status.textContent : "";
    }
    box.hidden = !shown;
  }

  open.addEventListener("click", () => showForm(form.hidden));
  cancel.addEventListener("click", () => showForm(false));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = battleId();
    if (!id) return;
    if (!reason.value) {
      status.textContent = "Please pick a reason.";
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    reason.removeAttribute("aria-invalid");
    send.disabled = true;
    let message;
    let ok = false;
    try {
      const token = await csrfToken();
      const r = await fetch(`${API}/battles/${encodeURIComponent(id)}/report`, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ reason: reason.value, details: details.value }),
      });
      let data = null;
      try { data = await r.json(); } catch (_) { data = null; }
      ok = r.ok;
      message = (data && typeof data.detail === "string" && data.detail)
        || (ok ? "Thank you: the moderators will look at this battle." : `The report was not sent (HTTP ${r.status}).`);
    } catch (_) {
      message = "Network error: the report was not sent. Please try again.";
    }
    send.disabled = false;
    status.textContent = message;
    if (ok) {
      reportedId = id;
      form.reset();
      form.hidden = true;
      open.setAttribute("aria-expanded", "false");
      open.hidden = true;
    }
  });

  new MutationObserver(sync).observe(document.body, { attributes: true, attributeFilter: ["data-battle-state"] });
  window.addEventListener("popstate", sync);
  sync();
})();
