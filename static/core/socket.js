/* Arena Hub — the one WebSocket client every page uses.
 *
 * Plain ES2020, no dependencies; a classic script, so load it (deferred) before the scripts that
 * use it. It sets window.ArenaSocket = { open(path, handlers, options), url(path) }.
 *
 *   const socket = ArenaSocket.open("/ws/boards/arena/", {
 *     onopen() {},              // after every (re)connect: catch up on what was missed here
 *     onmessage(message) {},    // each JSON object the server sends (pongs are kept for ourselves)
 *     onclose(event) {},        // lost (event null if none could be made); false: stop retrying
 *     onstate(state, retries) {}, // "connecting" | "open" | "reconnecting" | "stopped"; again with
 *                               // each retry scheduled, retries counting them since the last open
 *     onretry() {},             // a backed-off retry is about to connect
 *   }, { baseDelayMs: 1000, maxDelayMs: 30000, pingMs: 25000 });
 *   socket.send({ type: "..." }); socket.connect(); socket.close(); socket.state;
 *
 * A lost connection is retried with capped exponential backoff and jitter, and at once when the
 * browser comes back online or the page becomes visible again: both are when a socket the browser
 * dropped in the background is most likely to work again, and the user is looking.
 */
(() => {
  "use strict";

  // Under the idle timeouts of common proxies and load balancers (often 30–60 s).
  const PING_MS = 25000;
  const PING = JSON.stringify({ type: "ping" });

  /** ws:// or wss:// to match the page, so an https page never asks for a blocked insecure socket. */
  function url(path) {
    if (/^wss?:\/\//.test(path)) return path;
    return (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + path;
  }

  const waiting = new Set(); // handles between a lost connection and the next attempt

  function reconnectWaiting() {
    for (const handle of Array.from(waiting)) handle.retryNow();
  }
  window.addEventListener("online", reconnectWaiting);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") reconnectWaiting();
  });

  function open(path, handlers = {}, options = {}) {
    const baseDelayMs = options.baseDelayMs || 1000;
    const maxDelayMs = options.maxDelayMs || 30000;
    const pingMs = options.pingMs || PING_MS;
    const call = (name, ...args) => (typeof handlers[name] === "function" ? handlers[name](...args) : undefined);

    let ws = null;
    let state = "";
    let retries = 0; // attempts since the last successful open
    let retryTimer = 0;
    let pingTimer = 0;

    function setState(next) {
      state = next;
      if (next === "reconnecting") waiting.add(handle);
      else waiting.delete(handle);
      call("onstate", next, retries);
    }

    function detach() {
      window.clearInterval(pingTimer);
      const socket = ws;
      ws = null;
      // Handlers off first: a socket we drop on purpose must not report itself as lost.
      if (socket) socket.onopen = socket.onmessage = socket.onclose = null;
      return socket;
    }

    function connect() {
      if (state === "open" || (ws && ws.readyState === WebSocket.CONNECTING)) return;
      window.clearTimeout(retryTimer);
      if (state !== "reconnecting") setState("connecting");
      let socket;
      try {
        socket = new WebSocket(url(path));
      } catch (_) {
        lost(null);
        return;
      }
      ws = socket;
      socket.onopen = () => {
        retries = 0;
        setState("open");
        window.clearInterval(pingTimer);
        pingTimer = window.setInterval(() => {
          if (socket.readyState === WebSocket.OPEN) socket.send(PING);
        }, pingMs);
        call("onopen");
      };
      socket.onmessage = (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch (_) { return; }
        if (!message || typeof message !== "object" || message.type === "pong") return;
        call("onmessage", message);
      };
      socket.onclose = (event) => {
        detach();
        lost(event);
      };
    }

    function lost(event) {
      if (call("onclose", event) === false) {
        setState("stopped");
        return;
      }
      const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(retries, 10)) * (0.8 + Math.random() * 0.4);
      retries++;
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(() => {
        call("onretry");
        connect();
      }, delay);
      setState("reconnecting");
    }

    const handle = {
      get state() { return state; },
      /** Connects now unless already connected or connecting; reopens a stopped socket. */
      connect,
      retryNow() {
        if (state !== "reconnecting" || ws) return;
        retries = 0;
        connect();
      },
      /** Sends one JSON message; false when there is no open connection to send it on. */
      send(message) {
        if (!ws || ws.readyState !== WebSocket.OPEN) return false;
        ws.send(JSON.stringify(message));
        return true;
      },
      /** Closes for good (until connect() is called again); no handler hears of it. */
      close() {
        window.clearTimeout(retryTimer);
        const socket = detach();
        state = "stopped";
        waiting.delete(handle);
        if (socket) {
          try { socket.close(1000); } catch (_) { /* already closing */ }
        }
      },
    };

    connect();
    return handle;
  }

  window.ArenaSocket = Object.freeze({ open, url });
})();
