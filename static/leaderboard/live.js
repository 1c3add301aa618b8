/* Live boards, for any leaderboard page.
 *
 * The page marks its board with data-board (the name after /ws/boards/) and data-fragment-url
 * (a server-rendered partial of the board). When the board's socket says it changed, the
 * partial is fetched and swapped in: no reload, nothing rendered here. Reconnects with backoff
 * and refetches after every (re)connect, so an update missed while offline still arrives.
 */
(() => {
  "use strict";

  const root = document.querySelector("[data-board][data-fragment-url]");
  if (!root || !("WebSocket" in window)) return;

  const board = root.dataset.board;
  const fragmentUrl = root.dataset.fragmentUrl;
  const status = document.querySelector("[data-live-status]");
  const announcer = document.querySelector("[data-live-announcer]");
  const STATUS_TEXT = {
    connecting: "Connecting to live updates…",
    open: "Live: updates appear as they land",
    closed: "Live updates paused; reconnecting…",
  };
  const PING_MS = 25000;

  let ws = null;
  let attempts = 0;
  let retryTimer = 0;
  let pingTimer = 0;
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
    try {
      do {
        fetchAgain = false;
        const headers = { Accept: "text/html" };
        if (root.dataset.version) headers["If-None-Match"] = `"${root.dataset.version}"`;
        const r = await fetch(fragmentUrl, { headers, credentials: "same-origin", cache: "no-store" });
        if (r.status !== 200) continue; // 304: already showing this version
        const html = await r.text();
        swap(html);
        root.dataset.version = r.headers.get("X-Board-Version") || "";
        announce("The leaderboard was updated.");
      } while (fetchAgain);
    } catch (_) {
      /* offline: the next (re)connect fetches again */
    } finally {
      fetching = false;
    }
  }

  function wsUrl() {
    return (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host +
      "/ws/boards/" + encodeURIComponent(board) + "/";
  }

  function connect() {
    if (ws && (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN)) return;
    window.clearTimeout(retryTimer);
    let socket;
    try {
      socket = new WebSocket(wsUrl());
    } catch (_) {
      scheduleReconnect();
      return;
    }
    ws = socket;
    socket.onopen = () => {
      if (ws !== socket) return;
      attempts = 0;
      setState("open");
      window.clearInterval(pingTimer);
      pingTimer = window.setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
      }, PING_MS);
      refresh(); // anything that changed before the socket was listening
    };
    socket.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (_) { return; }
      if (!message || message.type !== "updated" || message.board !== board) return;
      if (message.version && message.version === root.dataset.version) return;
      refresh();
    };
    socket.onclose = (event) => {
      if (ws !== socket) return;
      ws = null;
      window.clearInterval(pingTimer);
      if (event.code === 4404) { // no such board: retrying cannot help
        if (status) status.hidden = true;
        return;
      }
      setState("closed");
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    window.clearTimeout(retryTimer);
    const delay = Math.min(30000, 1000 * 2 ** Math.min(attempts, 5)) * (0.8 + Math.random() * 0.4);
    attempts++;
    retryTimer = window.setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (ws) return;
    attempts = 0;
    connect();
  }

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") reconnectNow();
  });

  setState("connecting");
  connect();
})();
