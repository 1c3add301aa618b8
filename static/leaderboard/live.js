/* Live boards, for any leaderboard page.
 *
 * The page marks its board with data-board (the name after /ws/boards/) and data-fragment-url
 * (a server-rendered partial of the board). When the board's socket says it changed, the
 * partial is fetched and swapped in: no reload, nothing rendered here. The socket is
 * static/core/socket.js's (it reconnects); the partial is refetched after every (re)connect, so
 * an update missed while offline still arrives.
 *
 * The partial is served from a cache keyed by the board's version, so an age written into it
 * ("12 seconds ago") is as old as the cached copy: every <time data-age datetime="..."> in the
 * board is rewritten here from its datetime, at once and every few seconds.
 */
(() => {
  "use strict";

  const root = document.querySelector("[data-board][data-fragment-url]");
  if (!root) return;

  const AGE_REFRESH_MS = 5000;
  const AGE_UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  // Each page waits up to this long before it refetches, so that the pages open on a board do
  // not all ask at once when an event reaches them in the same millisecond.
  const REFETCH_SPREAD_MS = 250;

  function ageText(seconds) {
    const [unit, size] = AGE_UNITS.find(([, size]) => seconds >= size) || AGE_UNITS[AGE_UNITS.length - 1];
    const count = Math.floor(seconds / size);
    return `${count} ${unit}${count === 1 ? "" : "s"} ago`;
  }

  function agesRefresh() {
    const now = Date.now();
    root.querySelectorAll("time[data-age][datetime]").forEach((element) => {
      // Django writes microseconds; Date.parse is only sure to read milliseconds.
      const at = Date.parse(element.getAttribute("datetime").replace(/(\.\d{3})\d+/, "$1"));
      if (!Number.isNaN(at)) element.textContent = ageText(Math.max(0, Math.floor((now - at) / 1000)));
    });
  }

  agesRefresh();
  window.setInterval(agesRefresh, AGE_REFRESH_MS);

  if (!("WebSocket" in window) || !window.ArenaSocket) return;

  const board = root.dataset.board;
  const fragmentUrl = root.dataset.fragmentUrl;
  const status = document.querySelector("[data-live-status]");
  const announcer = document.querySelector("[data-live-announcer]");
  const STATUS_TEXT = {
    connecting: "Connecting to live updates…",
    open: "Live: updates appear as they land",
    closed: "Live updates paused; reconnecting…",
  };

  let fetching = false;
  let fetchAgain = false;

  function setState(state) {
    root.dataset.live = state;
    if (!status) return;
    status.hidden = false;
    status.dataset.state = state;
    status.textContent = STATUS_TEXT[state];
  }

  function announce(message) {
    if (!announcer) return;
    // Cleared first so that the same message is announced again.
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = message; }, 50);
  }

  /** Keep keyboard focus on the same link after the swap, when it still exists. */
  function swap(html) {
    const active = document.activeElement;
    const href = active && root.contains(active) ? active.getAttribute("href") : null;
    root.innerHTML = html; // the server's template output, escaped there
    if (href) {
      const again = root.querySelector(`[href="${CSS.escape(href)}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  async function refresh() {
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    // Busy from the first wait: what is on screen may be replaced at any moment until this clears.
    root.setAttribute("aria-busy", "true");
    try {
      do {
        fetchAgain = false;
        await new Promise((resolve) => { window.setTimeout(resolve, Math.random() * REFETCH_SPREAD_MS); });
        // The browser's own cache asks with If-None-Match and turns a 304 into its stored copy. (A 304
        // to a fetch that sets the header itself, with cache: "no-store", is logged as a failed request.)
        const r = await fetch(fragmentUrl, {
          headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-cache",
        });
        if (r.status !== 200) continue;
        const version = r.headers.get("X-Board-Version") || "";
        if (version && version === root.dataset.version) continue; // already showing this version
        const html = await r.text();
        swap(html);
        agesRefresh();
        root.dataset.version = version;
        announce("The leaderboard was updated.");
      } while (fetchAgain);
    } catch (_) {
      /* offline: the next (re)connect fetches again */
    } finally {
      fetching = false;
      root.removeAttribute("aria-busy");
    }
  }

  // The page's own names (data-live, the status text), kept apart from the socket's.
  const LIVE_STATE = { connecting: "connecting", open: "open", reconnecting: "closed" };

  window.ArenaSocket.open("/ws/boards/" + encodeURIComponent(board) + "/", {
    onstate(state) {
      if (state in LIVE_STATE) setState(LIVE_STATE[state]);
    },
    onopen() {
      refresh(); // anything that changed before the socket was listening
    },
    onmessage(message) {
      if (message.type !== "updated" || message.board !== board) return;
      if (message.version && message.version === root.dataset.version) return;
      refresh();
    },
    onclose(event) {
      if (event && event.code === 4404) { // no such board: retrying cannot help
        if (status) status.hidden = true;
        return false;
      }
      return true;
    },
  }, { baseDelayMs: 1000, maxDelayMs: 30000 });
})();
