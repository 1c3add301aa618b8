/* Arena Hub — blind battle page, at / (a new battle) and /battles/<id>/ (one battle).
 *
 * Plain ES2020; needs static/core/socket.js, loaded before it, and uses
 * static/arena/markdown.js where it loaded. Talks only to the REST API under /api/v1
 * and the battle WebSocket. Model output and prompts reach the page only through
 * ArenaMarkdown (sanitised Markdown) or, without it, as text; never as raw HTML.
 *
 * The address is the battle: starting one (or a retry) pushes /battles/<id>/, a new round
 * pushes /. Loading such an address, and Back or Forward to one, rebuilds the battle from
 * GET /api/v1/battles/<id> and, while it is unfinished, its socket (which replays the text
 * streamed so far to a late joiner).
 */
(() => {
  "use strict";

  const root = document.getElementById("arena");
  if (!root) return;

  const API = "/api/v1";
  const SIDES = ["a", "b"];
  const STATUS_LABEL = { queued: "Queued", streaming: "Generating…", done: "Done", failed: "Failed" };
  const STATUS_RANK = { queued: 0, streaming: 1, done: 2, failed: 2 };
  const TYPE_NAMES = { "image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF" };
  const EXT_TYPES = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp", gif: "image/gif" };
  const DEFAULT_HINT = "Enter to send · Shift+Enter for a new line";
  const DEFAULT_PLACEHOLDER = "Ask anything — e.g. “What is unusual about this picture?”";
  const BATTLE_PATH = /^\/battles\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;
  const VOTE_WORDS = { model_a: "A is better", model_b: "B is better", tie: "a tie", "tie (bothbad)": "both are bad" };

  const cfg = {
    maxTurns: parseInt(root.dataset.maxTurns, 10) || 1,
    maxUploadBytes: parseInt(root.dataset.maxUploadBytes, 10) || 0,
    acceptedTypes: (root.dataset.acceptedTypes || "image/png,image/jpeg,image/webp,image/gif")
      .split(",").map((s) => s.trim().toLowerCase()).filter(Boolean),
    slowNoticeMs: (parseFloat(root.dataset.slowNoticeS) || 20) * 1000,
  };

  const byId = (id) => document.getElementById(id);
  const ui = {
    form: byId("prompt-form"),
    prompt: byId("prompt"),
    send: byId("send"),
    hint: byId("prompt-hint"),
    fileInput: byId("image-input"),
    dropZone: byId("drop-zone"),
    preview: byId("image-preview"),
    previewImg: byId("image-preview").querySelector("img"),
    previewName: byId("image-preview").querySelector(".image-preview__name"),
    removeImage: byId("remove-image"),
    imageTypes: byId("image-types"),
    imageLimit: byId("image-limit"),
    formError: byId("form-error"),
    turnCounter: byId("turn-counter"),
    connection: byId("connection"),
    battleImage: byId("battle-image"),
    battleImg: byId("battle-image").querySelector("img"),
    voteLabel: byId("vote-label"),
    votes: ["vote-a", "vote-b", "vote-tie", "vote-bothbad"].map(byId),
    retry: byId("retry"),
    abandon: byId("abandon"),
    newRound: byId("new-round"),
    viewerNote: byId("viewer-note"),
    announcer: byId("announcer"),
    panes: {},
  };
  for (const k of SIDES) {
    const pane = byId("pane-" + k);
    ui.panes[k] = {
      root: pane,
      body: pane.querySelector(".pane-body"),
      turns: pane.querySelector(".turns"),
      badge: pane.querySelector(".status-badge"),
      reveal: pane.querySelector(".reveal"),
      name: pane.querySelector(".model-name"),
      meta: pane.querySelector(".model-meta"),
      elo: pane.querySelector(".elo-change"),
      stick: true, // follow the end of the answer as it grows
      lastTop: 0,
      autoTop: null, // where our own last scroll put it, to tell it from the reader's
      holding: false, // a finger or the mouse is on the pane: never scroll under it
    };
  }

  // ---------------------------------------------------------------- state
  let csrfToken = "";
  let sessionReady = refreshSession();
  let file = null; // the selected image (File/Blob)
  let fileUrl = ""; // object URL of its preview
  let fileCheck = null; // the decoding check of a file just chosen (a Promise), until it is settled
  let battle = null; // the battle on screen, see startBattleView()
  let busy = false; // a create / follow-up / retry request is in flight
  let votePending = false;
  // static/arena/media.js: videos and sounds in the composer, and the battle's video or sound above the panes.
  const media = window.ArenaMedia ? window.ArenaMedia.composer({
    fmtBytes,
    error: showError,
    ok: clearError,
    announce,
    dropImage: () => { if (file) { setFile(null); announce("The image was removed: a video goes alone."); } },
    busy: () => !!battle,
  }) : null;
  const mediaView = window.ArenaMedia ? window.ArenaMedia.display() : null;

  // ---------------------------------------------------------------- helpers
  /** Length in Unicode code points (what the server counts), not UTF-16 units. */
  function cpLen(s) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) n++;
      else {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
        n++;
      }
    }
    return n;
  }
  const cpSlice = (s, start) => Array.from(s).slice(start).join("");

  function fmtBytes(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(n % 1048576 ? 1 : 0) + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  function typesLabel() {
    const names = cfg.acceptedTypes.map((t) => TYPE_NAMES[t] || t.replace(/^image\//, "").toUpperCase());
    return names.length > 1 ? names.slice(0, -1).join(", ") + " or " + names[names.length - 1] : names.join("");
  }

  async function refreshSession() {
    try {
      const r = await fetch(API + "/session", {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
      });
      if (r.ok) {
        const d = await r.json();
        if (d && typeof d.csrf_token === "string") csrfToken = d.csrf_token;
      }
    } catch (_) { /* offline: the next write asks again (the CSRF cookie is HttpOnly, never read here) */ }
  }

  function errorMessage(status, data) {
    const d = data && data.detail;
    if (typeof d === "string" && d) return d;
    if (Array.isArray(d) && d.length) {
      return d.map((e) => (e && (e.msg || e.message)) || String(e)).join(" ");
    }
    if (status === 0) return "Network error — check your connection and try again.";
    if (status === 413) return "That upload is too large.";
    if (status === 429) return "Too many requests — please wait a moment and try again.";
    if (status >= 500) return `The server had a problem (HTTP ${status}). Please try again.`;
    return `Something went wrong (HTTP ${status}). Please try again.`;
  }

  /** fetch() wrapper: JSON in/out, CSRF header on writes, never throws. */
  async function api(method, path, body, retried) {
    const headers = { Accept: "application/json" };
    let payload;
    if (method !== "GET") {
      await sessionReady;
      if (csrfToken) headers["X-CSRFToken"] = csrfToken;
    }
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(API + path, {
        method, headers, body: payload, credentials: "same-origin", cache: "no-store",
      });
    } catch (_) {
      return { ok: false, status: 0, data: null, message: errorMessage(0, null) };
    }
    let data = null;
    if ((resp.headers.get("content-type") || "").includes("json")) {
      try { data = await resp.json(); } catch (_) { data = null; }
    }
    // A stale or missing CSRF token: refresh it once and try again.
    if (resp.status === 403 && method !== "GET" && !retried) {
      const d = data && data.detail;
      if (!d || /csrf/i.test(String(d))) {
        sessionReady = refreshSession();
        return api(method, path, body, true);
      }
    }
    return { ok: resp.ok, status: resp.status, data, message: resp.ok ? "" : errorMessage(resp.status, data) };
  }

  function showError(msg) {
    ui.formError.textContent = msg;
  }
  function clearError() {
    ui.formError.textContent = "";
    ui.prompt.removeAttribute("aria-invalid");
  }
  function announce(msg) {
    // Clear first so that repeating the same message is announced again.
    ui.announcer.textContent = "";
    window.setTimeout(() => { ui.announcer.textContent = msg; }, 50);
  }
  const coarsePointer = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  /** Where focus goes after sending: the prompt, except on touch screens (no pop-up keyboard over the answers). */
  function focusAfterSend() {
    if (coarsePointer) ui.panes.a.body.focus({ preventScroll: true });
    else ui.prompt.focus();
  }

  /** Disable a control without dropping keyboard focus on the floor. */
  function setDisabled(el, disabled, fallback) {
    const hadFocus = disabled && document.activeElement === el;
    el.disabled = disabled;
    if (hadFocus && fallback) {
      if (fallback === ui.prompt) focusAfterSend();
      else fallback.focus({ preventScroll: true });
    }
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  /** One of the page's inline SVG symbols (templates/arena/battle.html), hidden from assistive tech. */
  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", "#icon-" + name);
    svg.append(use);
    return svg;
  }

  // ---------------------------------------------------------------- address
  function battleIdOf(path) {
    const m = BATTLE_PATH.exec(path || "");
    return m ? m[1].toLowerCase() : null;
  }
  const battlePath = (id) => (id ? `/battles/${encodeURIComponent(id)}/` : "/");
  /** Makes the address show `id` (null: a new battle), as a new history entry unless it already does. */
  function showAddress(id) {
    const path = battlePath(id);
    if (location.pathname === path) history.replaceState({ battle: id }, "", path);
    else history.pushState({ battle: id }, "", path);
  }

  // ---------------------------------------------------------------- image input
  function fileType(f) {
    const t = (f.type || "").toLowerCase();
    if (t) return t;
    const ext = ((f.name || "").split(".").pop() || "").toLowerCase();
    return EXT_TYPES[ext] || "";
  }

  /** Whether the browser can decode `f` as an image: a file named .png that is not one fails here,
   * before it is uploaded, instead of at the server. */
  async function decodable(f) {
    if (typeof window.createImageBitmap === "function") {
      try {
        const bitmap = await window.createImageBitmap(f);
        if (bitmap.close) bitmap.close();
        return true;
      } catch (_) {
        return false;
      }
    }
    const url = URL.createObjectURL(f);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      return true;
    } catch (_) {
      return false;
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  function acceptFile(f) {
    if (!f) return;
    if (battle) {
      showError("Images, videos and sounds can only be added to a new battle. Finish this one, or start a new round.");
      return;
    }
    const name = f.name ? `“${f.name}”` : "That file";
    if (media && media.kindOf(f)) {
      const check = media.accept(f).then(() => {
        if (fileCheck === check) fileCheck = null;
      });
      fileCheck = check;
      return;
    }
    if (!cfg.acceptedTypes.includes(fileType(f))) {
      showError(media
        ? `${name} isn’t an image, video or sound we take. Please use an image (${typesLabel()}), a video (MP4, WebM or MOV) or a sound (WAV, MP3, M4A, OGG, FLAC or WebM).`
        : `${name} isn’t a supported image. Please use ${typesLabel()}.`);
      return;
    }
    if (cfg.maxUploadBytes && f.size > cfg.maxUploadBytes) {
      showError(`${name} is ${fmtBytes(f.size)} — the limit is ${fmtBytes(cfg.maxUploadBytes)}. Please choose a smaller image.`);
      return;
    }
    const check = decodable(f).then((ok) => {
      if (fileCheck !== check) return; // another file was chosen meanwhile
      fileCheck = null;
      if (!ok) {
        showError(`${name} can’t be read as an image — the file may be damaged or not really a ${typesLabel()} image. Please choose another.`);
        if (!file) ui.fileInput.value = "";
        return;
      }
      clearError();
      setFile(f);
    });
    fileCheck = check;
  }

  function setFile(f) {
    if (f && media) media.imageAdded();
    if (fileUrl) URL.revokeObjectURL(fileUrl);
    file = f;
    fileUrl = f ? URL.createObjectURL(f) : "";
    ui.preview.hidden = !f;
    ui.dropZone.classList.toggle("has-image", !!f);
    if (f) {
      ui.previewImg.src = fileUrl;
      ui.previewName.textContent = `${f.name || "Pasted image"} · ${fmtBytes(f.size)}`;
    } else {
      ui.previewImg.removeAttribute("src");
      ui.previewName.textContent = "";
      ui.fileInput.value = "";
    }
  }

  /** Hands the preview over to the battle view (the object URL stays alive). */
  function takeFile() {
    const url = fileUrl;
    fileUrl = "";
    setFile(null);
    return url;
  }

  ui.fileInput.addEventListener("change", () => {
    const f = ui.fileInput.files && ui.fileInput.files[0];
    if (f) acceptFile(f);
    else if (!file) ui.fileInput.value = "";
  });
  ui.removeImage.addEventListener("click", () => {
    setFile(null);
    announce("Image removed.");
    ui.fileInput.focus();
  });
  const hasFiles = (e) => !!e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
  let dragDepth = 0;
  window.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (ui.dropZone.contains(e.target)) dragDepth++;
    ui.dropZone.classList.toggle("is-dragover", dragDepth > 0 && !battle);
  });
  window.addEventListener("dragleave", (e) => {
    if (!hasFiles(e)) return;
    if (ui.dropZone.contains(e.target)) dragDepth = Math.max(0, dragDepth - 1);
    ui.dropZone.classList.toggle("is-dragover", dragDepth > 0);
  });
  window.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); // never let the browser navigate to a dropped file
    e.dataTransfer.dropEffect = battle ? "none" : "copy";
  });
  window.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    ui.dropZone.classList.remove("is-dragover");
    const f = e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) acceptFile(f);
  });

  document.addEventListener("paste", (e) => {
    const items = e.clipboardData ? Array.from(e.clipboardData.items || []) : [];
    const item = items.find((it) => it.kind === "file" && /^(image|video|audio)\//.test(it.type));
    if (!item) return; // plain text paste: leave it alone
    const f = item.getAsFile();
    if (!f) return;
    const hasText = items.some((it) => it.type === "text/plain");
    if (battle && hasText) return; // pasting text into a follow-up: ignore the image part
    if (!hasText) e.preventDefault();
    acceptFile(f);
  });

  // ---------------------------------------------------------------- battle model
  function newSide() {
    // place: where the answer stands in its model's waiting line (0: a worker took it), null if unknown;
    // eta: the server's estimate, in seconds, of the wait until a worker starts it (null: none).
    return { text: "", len: 0, status: "queued", error: null, place: null, eta: null };
  }
  function ensureTurn(b, index) {
    const i = Number.isInteger(index) && index >= 0 ? index : Math.max(0, b.turns.length - 1);
    while (b.turns.length <= i) {
      b.turns.push({
        index: b.turns.length, prompt: "", imageUrl: null, sides: { a: newSide(), b: newSide() },
        // A video (its URL and the frames both models saw) or a sound (its URL and waveform peaks).
        videoUrl: null, videoFrames: [], audioUrl: null, audioPeaks: [],
        announced: false, slow: false, slowTimer: 0,
      });
    }
    return b.turns[i];
  }
  const latest = (b) => (b && b.turns.length ? b.turns[b.turns.length - 1] : null);
  const terminal = (s) => s.status === "done" || s.status === "failed";
  const bothTerminal = (t) => !!t && SIDES.every((k) => terminal(t.sides[k]));
  const bothDone = (t) => !!t && SIDES.every((k) => t.sides[k].status === "done");
  const anyFailed = (t) => !!t && SIDES.some((k) => t.sides[k].status === "failed");
  const isVoted = (b) => !!b && (b.state === "voted" || !!b.vote);
  const isAbandoned = (b) => !!b && b.state === "abandoned";
  /** Someone else's battle: shown, but only its creator may vote or continue. */
  const readOnly = (b) => !!b && b.isCreator === false;
  /** Nothing more can happen to it from this page. */
  const settled = (b) => !!b && (!!b.gone || b.loading || isVoted(b) || isAbandoned(b) || readOnly(b));
  /** The server's can_vote/can_follow_up flags apply only if they were computed for the turn we show, finished. */
  const flagsCurrent = (b) => !!b.flags && b.flags.turns === b.turns.length && b.flags.terminal;

  function canVoteNow(b) {
    if (!b || settled(b) || !bothTerminal(latest(b))) return false;
    return flagsCurrent(b) ? b.flags.canVote : true;
  }
  function canFollowUpNow(b) {
    if (!b || settled(b) || b.state === "failed" || !bothDone(latest(b)) || b.turns.length >= b.maxTurns) return false;
    return flagsCurrent(b) ? b.flags.canFollowUp : true;
  }
  function followUpClosed(b) {
    const t = latest(b);
    return settled(b) || b.state === "failed" || anyFailed(t) || b.turns.length >= b.maxTurns ||
      (bothDone(t) && flagsCurrent(b) && !b.flags.canFollowUp);
  }
  const canAbandon = (b) => !!b && !settled(b) && b.canAbandon !== false;
  const needsLive = (b) => !!b && !b.gone && !isVoted(b) && !isAbandoned(b) &&
    (b.state === "generating" || b.turns.some((t) => !bothTerminal(t)));

  // ---------------------------------------------------------------- rendering
  function makeTurnDom(index) {
    const turn = document.createElement("div");
    turn.className = "turn is-queued";
    turn.dataset.turn = String(index);
    const prompt = document.createElement("div");
    prompt.className = "turn-prompt";
    const answer = document.createElement("div");
    answer.className = "turn-answer";
    const error = document.createElement("p");
    error.className = "turn-error";
    error.hidden = true;
    // Always in the page, empty when there is nothing to say, so screen readers hear each change.
    const place = document.createElement("p");
    place.className = "turn-place";
    place.setAttribute("aria-live", "polite");
    const eta = document.createElement("p");
    eta.className = "turn-eta";
    const slow = document.createElement("div");
    slow.className = "turn-slow";
    slow.hidden = true;
    const slowText = document.createElement("p");
    slowText.className = "turn-slow__text";
    const slowRetry = document.createElement("button");
    slowRetry.type = "button";
    slowRetry.className = "btn btn--secondary btn--small turn-slow__retry";
    slowRetry.append(icon("retry"), document.createTextNode("Try a new pair"));
    slowRetry.addEventListener("click", () => retry());
    slow.append(slowText, slowRetry);
    const actions = document.createElement("div");
    actions.className = "turn-actions";
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "btn btn--ghost btn--small copy-answer";
    copy.setAttribute("aria-label", "Copy answer");
    copy.textContent = "Copy";
    const copied = document.createElement("span");
    copied.className = "copy-status";
    copied.setAttribute("role", "status");
    copied.setAttribute("aria-live", "polite");
    actions.append(copy, copied);
    turn.append(prompt, place, eta, slow, answer, actions, error);
    const d = {
      turn, prompt, place, eta, slow, slowText, slowRetry, answer, error,
      renderedLen: 0, status: "", source: "", promptSource: null,
    };
    copy.addEventListener("click", () => copyAnswer(d.source, copied));
    return d;
  }

  /** Model text and prompts as sanitised Markdown; plain text if markdown.js did not load. */
  function showText(el, text, streaming, after) {
    const md = window.ArenaMarkdown;
    if (!md) el.textContent = text;
    else if (streaming) md.renderSoon(el, text, after);
    else md.renderInto(el, text);
  }

  /** The raw Markdown, as the model wrote it; execCommand for pages served without a secure context. */
  async function copyAnswer(text, status) {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch (_) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.append(area);
      area.select();
      try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
      area.remove();
    }
    status.textContent = ok ? "Copied" : "Couldn’t copy — select the text instead.";
    window.clearTimeout(status.clearTimer);
    status.clearTimer = window.setTimeout(() => { status.textContent = ""; }, 2000);
  }

  function ordinal(n) {
    const teen = n % 100 >= 11 && n % 100 <= 13;
    return n + (teen ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th");
  }
  const waiting = (s) => s.status === "queued" && s.len === 0;
  /** What the pane says while the answer waits for a worker, until its first text; "" once there is nothing to say. */
  function placeLabel(s) {
    if (!waiting(s)) return "";
    if (!Number.isInteger(s.place) || s.place < 1) return "Waiting for a free worker…";
    return "Waiting for a free worker — " + (s.place === 1 ? "next in line" : ordinal(s.place) + " in line");
  }
  function etaLabel(s) {
    if (!waiting(s) || !Number.isInteger(s.place) || s.place < 1 || !Number.isFinite(s.eta) || s.eta < 0) return "";
    if (s.eta < 5) return "It should start in a few seconds.";
    if (s.eta < 90) return `About ${Math.round(s.eta / 5) * 5} seconds until it starts.`;
    const min = Math.round(s.eta / 60);
    return `About ${min} minute${min === 1 ? "" : "s"} until it starts.`;
  }

  function resetPanes() {
    for (const k of SIDES) {
      const p = ui.panes[k];
      p.turns.replaceChildren();
      const d = makeTurnDom(0);
      d.answer.classList.add("answer");
      d.answer.setAttribute("aria-live", "polite");
      p.turns.append(d.turn);
      p.root.dataset.status = "queued";
      p.root.classList.remove("is-winner", "is-loser");
      p.badge.textContent = "";
      p.reveal.classList.remove("is-revealed");
      p.name.replaceChildren();
      p.meta.textContent = "";
      p.elo.textContent = "";
      p.elo.className = "elo-change";
      p.stick = true;
      p.body.scrollTop = 0;
      p.lastTop = 0;
      p.autoTop = null;
    }
    for (const btn of ui.votes) {
      btn.classList.remove("is-chosen");
      btn.removeAttribute("aria-pressed");
    }
  }

  // Following the end of a growing answer: only while the reader has not scrolled away from it. Where
  // the panes stack (narrow screens) they are not scroll boxes at all (battle.css), so nothing here moves
  // the page under a reader.
  const atEnd = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 4;
  for (const k of SIDES) {
    const p = ui.panes[k];
    const el = p.body;
    el.addEventListener("scroll", () => {
      const top = el.scrollTop;
      if (p.autoTop !== null && Math.abs(top - p.autoTop) < 1) {
        p.autoTop = null; // the scroll autoScroll() made
      } else if (atEnd(el)) {
        p.stick = true; // the reader came back to the end: follow again
      } else if (top < p.lastTop) {
        p.stick = false;
      }
      p.lastTop = top;
    }, { passive: true });
    // Intent shows before the scroll it causes: a reader moving up is never pulled back down meanwhile.
    el.addEventListener("wheel", (e) => { if (e.deltaY < 0) p.stick = false; }, { passive: true });
    el.addEventListener("keydown", (e) => {
      if (e.key === "ArrowUp" || e.key === "PageUp" || e.key === "Home") p.stick = false;
    });
    const hold = () => { p.holding = true; };
    const release = () => {
      p.holding = false;
      p.stick = atEnd(el);
    };
    el.addEventListener("touchstart", hold, { passive: true });
    el.addEventListener("touchend", release, { passive: true });
    el.addEventListener("touchcancel", release, { passive: true });
    el.addEventListener("pointerdown", (e) => { if (e.pointerType === "mouse") hold(); });
    window.addEventListener("pointerup", (e) => { if (e.pointerType === "mouse" && p.holding) release(); });
  }
  function autoScroll(k) {
    const p = ui.panes[k];
    const el = p.body;
    if (!p.stick || p.holding) return;
    const end = el.scrollHeight - el.clientHeight;
    if (end - el.scrollTop < 1) return;
    el.scrollTop = end;
    p.autoTop = el.scrollTop;
  }

  /** Creates missing turn DOM in both panes and marks the latest answer with .answer / aria-live. */
  function syncTurnDom(b) {
    const last = b.turns.length - 1;
    for (const k of SIDES) {
      const p = ui.panes[k];
      for (const t of b.turns) {
        if (!t.dom) t.dom = {};
        if (!t.dom[k]) {
          const d = makeTurnDom(t.index);
          t.dom[k] = d;
          const existing = p.turns.querySelector(`.turn[data-turn="${t.index}"]`);
          if (existing) existing.replaceWith(d.turn);
          else p.turns.append(d.turn);
        }
        const a = t.dom[k].answer;
        const isLast = t.index === last;
        a.classList.toggle("answer", isLast);
        if (isLast) a.setAttribute("aria-live", "polite");
        else { a.removeAttribute("aria-live"); a.removeAttribute("aria-busy"); }
      }
    }
  }

  /** After ARENA_SLOW_NOTICE_S without a first word, a waiting side of the latest turn says so. */
  function armSlowNotice(b, t) {
    if (t.slow || t.slowTimer || t !== latest(b) || settled(b) || !SIDES.some((k) => !terminal(t.sides[k]) && t.sides[k].len === 0)) return;
    t.slowTimer = window.setTimeout(() => {
      t.slowTimer = 0;
      t.slow = true;
      if (b !== battle || b.closed) return;
      renderAll(b);
      const slow = SIDES.filter((k) => slowNotice(b, t, t.sides[k])).map((k) => "Model " + k.toUpperCase());
      if (slow.length) {
        announce(`${slow.join(" and ")} ${slow.length > 1 ? "are" : "is"} slow to start. You can keep waiting` +
          (t.index === 0 ? ", or try a new pair." : ", or abandon the battle."));
      }
    }, cfg.slowNoticeMs);
  }
  function slowNotice(b, t, s) {
    if (!t.slow || t !== latest(b) || terminal(s) || s.len > 0 || settled(b)) return "";
    return t.index === 0
      ? "This model is slow to start. You can keep waiting, or try a new pair of models with the same prompt."
      : "This model is slow to start. You can keep waiting, or abandon the battle.";
  }

  function renderSide(b, t, k) {
    const s = t.sides[k];
    const d = t.dom && t.dom[k];
    if (!d) return;
    if (d.promptSource !== t.prompt) {
      d.promptSource = t.prompt;
      showText(d.prompt, t.prompt, false);
    }
    if (d.renderedLen !== s.len) {
      showText(d.answer, s.text, !terminal(s), () => autoScroll(k));
      d.source = s.text;
      d.renderedLen = s.len;
    }
    const place = placeLabel(s);
    if (d.place.textContent !== place) d.place.textContent = place;
    d.turn.classList.toggle("has-place", !!place);
    const eta = etaLabel(s);
    if (d.eta.textContent !== eta) d.eta.textContent = eta;
    const slow = slowNotice(b, t, s);
    if (d.slowText.textContent !== slow) d.slowText.textContent = slow;
    d.slow.hidden = !slow;
    d.slowRetry.hidden = t.index !== 0;
    if (d.status !== s.status) {
      d.status = s.status;
      d.turn.classList.remove("is-queued", "is-streaming", "is-done", "is-failed");
      d.turn.classList.add("is-" + s.status);
      if (s.status === "streaming") d.answer.setAttribute("aria-busy", "true");
      else d.answer.removeAttribute("aria-busy");
      // The last streamed render may still be waiting on its throttle: the finished text, now.
      if (terminal(s)) showText(d.answer, s.text, false);
    }
    if (s.status === "failed") {
      d.error.textContent = s.error ? `Error: ${s.error}` : "This model failed to answer.";
      d.error.hidden = false;
    } else {
      d.error.hidden = true;
    }
  }

  function renderAll(b) {
    syncTurnDom(b);
    for (const t of b.turns) for (const k of SIDES) renderSide(b, t, k);
    const t = latest(b);
    if (t) armSlowNotice(b, t);
    for (const k of SIDES) autoScroll(k);
    updateUI();
  }

  function voteLabel(b, canVote) {
    if (!b) return "Which answer is better?";
    const t = latest(b);
    if (isVoted(b)) {
      if (readOnly(b)) {
        const w = b.vote && VOTE_WORDS[b.vote.winner];
        return w ? `The person who started this battle voted: ${w}.` : "This battle has been voted on.";
      }
      return "Thanks for voting!";
    }
    if (isAbandoned(b)) return "This battle was abandoned before a vote.";
    if (readOnly(b)) return "Waiting for the vote of the person who started this battle.";
    if (b.gone) return "Voting isn’t available for this battle.";
    if (b.loading) return "Loading the battle…";
    if (canVote) return "Which answer is better?";
    if (bothTerminal(t)) return "Voting isn’t available for this battle.";
    return "Which answer is better? (vote when both answers are finished)";
  }

  function updateUI() {
    const b = battle;
    const t = latest(b);
    const voted = isVoted(b);
    root.dataset.phase = b ? "battle" : "idle";
    document.body.dataset.battleState = b ? (b.loading ? "loading" : b.state || "generating") : "idle";

    const max = b ? b.maxTurns : cfg.maxTurns;
    ui.turnCounter.textContent = `Turn ${b ? Math.max(1, b.turns.length) : 1} of ${max}`;
    // Once both answers are in there is nothing left to reconnect for.
    if (!needsLive(b)) ui.connection.hidden = true;

    for (const k of SIDES) {
      const p = ui.panes[k];
      const status = t ? t.sides[k].status : "queued";
      p.root.dataset.status = status;
      p.badge.textContent = b && t ? STATUS_LABEL[status] || status : "";
    }

    // Shared image of the first turn, above both panes.
    const first = b && b.turns[0];
    const src = (b && b.localImage) || (first && first.imageUrl) || "";
    if (src && ui.battleImg.getAttribute("src") !== src) ui.battleImg.src = src;
    ui.battleImage.hidden = !src;
    if (mediaView) {
      mediaView.show(first ? {
        videoUrl: first.videoUrl, frames: first.videoFrames, audioUrl: first.audioUrl, peaks: first.audioPeaks,
        local: b.localMedia,
      } : null);
    }

    ui.viewerNote.hidden = !(b && readOnly(b) && !voted && !isAbandoned(b));

    // The round's actions first: a control losing focus below may hand it to one of them.
    ui.retry.hidden = !(b && !settled(b) && (anyFailed(t) || b.state === "failed"));
    ui.abandon.hidden = !canAbandon(b);
    ui.newRound.hidden = !(b && !b.loading && !canAbandon(b));

    // Voting.
    const canVote = canVoteNow(b);
    const endOfRound = voted || isAbandoned(b) || readOnly(b) || (b && b.gone);
    for (const btn of ui.votes) {
      setDisabled(btn, !canVote, endOfRound ? ui.newRound : ui.prompt);
      btn.setAttribute("aria-busy", String(votePending));
    }
    ui.voteLabel.textContent = voteLabel(b, canVote);

    // Composer: new battle, follow-up, or closed.
    ui.dropZone.hidden = !!b;
    let hint = DEFAULT_HINT;
    let placeholder = DEFAULT_PLACEHOLDER;
    if (!b) {
      ui.prompt.disabled = false;
      ui.send.disabled = false;
    } else if (endOfRound || b.loading) {
      const fallback = b.loading ? null : ui.newRound;
      setDisabled(ui.prompt, true, fallback);
      setDisabled(ui.send, true, fallback);
      placeholder = "Start a new round to ask something else.";
      hint = b.loading ? "Loading the battle…"
        : voted && !readOnly(b) ? "Vote recorded. Press “New round” to start another battle."
        : isAbandoned(b) ? "This battle was abandoned. Press “New round” to start another."
        : readOnly(b) ? "Only the person who started this battle can continue it. Press “New round” to start your own."
        : "Press “New round” to start another battle.";
    } else {
      const closed = followUpClosed(b);
      const fallback = ui.panes.a.body;
      setDisabled(ui.prompt, closed, fallback);
      setDisabled(ui.send, closed || !canFollowUpNow(b), closed ? fallback : ui.prompt);
      const n = b.turns.length;
      if (anyFailed(t) || b.state === "failed") {
        hint = canVote ? "A model couldn’t answer. Vote, or retry with a new pair." : "A model couldn’t answer. Retry with a new pair.";
        placeholder = "Follow-ups aren’t available after a failure.";
      } else if (!bothTerminal(t)) {
        hint = "Both models are answering… You can vote or follow up once both are finished.";
        placeholder = n < b.maxTurns ? "Ask a follow-up…" : "That was the last turn.";
      } else if (closed) {
        hint = n >= b.maxTurns ? "That was the last turn — vote to reveal the models." : "Vote to reveal the models.";
        placeholder = "No more follow-ups in this battle.";
      } else {
        hint = `Vote above, or ask a follow-up (turn ${n + 1} of ${b.maxTurns}). Enter to send.`;
        placeholder = "Ask a follow-up…";
      }
    }
    ui.hint.textContent = hint;
    ui.prompt.placeholder = placeholder;
    ui.send.setAttribute("aria-busy", String(busy));
    maybeAnnounce(b, t);
  }

  function maybeAnnounce(b, t) {
    if (!b || !t || t.announced || !bothTerminal(t) || settled(b)) return;
    t.announced = true;
    if (anyFailed(t)) {
      const failed = SIDES.filter((k) => t.sides[k].status === "failed").map((k) => "Model " + k.toUpperCase());
      announce(`${failed.join(" and ")} failed to answer.`);
    } else {
      announce("Both answers are finished. Vote for the better one, or ask a follow-up.");
    }
  }

  // ---------------------------------------------------------------- battle lifecycle
  /** Stops listening to the live stream (the battle stays on screen). */
  function stopStream(b) {
    if (b.socket) {
      b.socket.close();
      b.socket = null;
    }
    ui.connection.hidden = true;
  }

  /** Forgets a battle for good (new round, another battle, or switched to a retry); it goes on on the server. */
  function closeBattle(b, revokeImage) {
    if (!b) return;
    b.closed = true;
    stopStream(b);
    for (const t of b.turns) window.clearTimeout(t.slowTimer);
    if (revokeImage && b.localImage) URL.revokeObjectURL(b.localImage);
    if (revokeImage && b.localMedia) URL.revokeObjectURL(b.localMedia.url);
  }

  function battleView(id, fields) {
    return Object.assign({
      id,
      stream: `/ws/battles/${id}/`,
      state: "generating",
      maxTurns: cfg.maxTurns,
      turns: [],
      flags: null,
      vote: null,
      models: null,
      elo: null,
      isCreator: null, // null: not known yet (the API says, as is_creator)
      canAbandon: undefined,
      loading: false,
      localImage: "",
      localMedia: null, // { kind, url }: the video or sound this page sent, shown until the server's
      socket: null,
      syncing: false,
      syncAgain: false,
      closed: false,
    }, fields);
  }

  /** A battle this page just started (or retried): ours, generating, shown at its own address. */
  function startBattleView(created, seed) {
    const b = battleView(created.id, {
      stream: created.stream || `/ws/battles/${created.id}/`,
      state: created.state || "generating",
      isCreator: true,
      localImage: seed.localImage || "",
      localMedia: seed.localMedia || null,
    });
    const t = ensureTurn(b, 0);
    t.prompt = seed.prompt || "";
    t.imageUrl = seed.imageUrl || null;
    if (seed.media) Object.assign(t, seed.media);
    battle = b;
    showAddress(b.id);
    resetPanes();
    // The static turn-0 DOM from resetPanes() is replaced by syncTurnDom().
    renderAll(b);
    connect(b);
    return b;
  }

  /** A battle at its address: as it stands now, from the API, then live from its socket while unfinished. */
  async function restoreBattle(id) {
    const b = battleView(id, { loading: true, state: "" });
    battle = b;
    resetPanes();
    clearError();
    updateUI();
    const r = await api("GET", `/battles/${encodeURIComponent(id)}`);
    if (b !== battle || b.closed) return;
    b.loading = false;
    if (r.ok && r.data) {
      adopt(b, r.data);
    } else if (r.status === 404) {
      battleGone(b);
      return;
    } else {
      // Unreachable for now: the socket's (re)connects read the battle again until it answers.
      showError(r.message);
      b.state = "generating";
      updateUI();
    }
    if (needsLive(b)) connect(b);
  }

  function battleGone(b) {
    showError("This battle no longer exists. Start a new round.");
    b.gone = true;
    b.loading = false;
    stopStream(b);
    b.closed = true;
    updateUI();
  }

  /** Shows what the address says: a battle, or an empty composer for a new one. */
  function showLocation() {
    const id = battleIdOf(location.pathname);
    if (battle && battle.id === id) return;
    if (battle) closeBattle(battle, true);
    battle = null;
    votePending = false;
    if (id) {
      restoreBattle(id);
    } else {
      resetPanes();
      ui.battleImg.removeAttribute("src");
      clearError();
      updateUI();
    }
  }

  /** Opens the battle's stream, or reopens it after it was let go; deltas land in handleMessage(). */
  function connect(b) {
    if (!b || b.closed || b !== battle) return;
    if (b.socket) { b.socket.connect(); return; }
    b.socket = window.ArenaSocket.open(b.stream, {
      onopen() {
        resync(b); // catch up on anything missed before/while disconnected
      },
      onmessage(m) {
        if (b === battle) handleMessage(b, m);
      },
      // Once both answers are in, nothing more comes until a follow-up, which reconnects itself.
      onclose() {
        return !b.closed && b === battle && needsLive(b);
      },
      onretry() {
        resync(b); // also polls progress if the socket cannot be opened at all
      },
      onstate(state, retries) {
        // Only once a retry has failed as well: a single blip is not worth a banner.
        ui.connection.hidden = !(state === "reconnecting" && retries > 1 && b === battle && needsLive(b));
      },
    }, { baseDelayMs: 500, maxDelayMs: 10000 });
  }

  async function resync(b) {
    if (b.syncing) { b.syncAgain = true; return; }
    b.syncing = true;
    try {
      do {
        b.syncAgain = false;
        const r = await api("GET", `/battles/${encodeURIComponent(b.id)}`);
        if (b !== battle || b.closed) return;
        if (r.ok && r.data) adopt(b, r.data);
        else if (r.status === 404) {
          battleGone(b);
          return;
        }
      } while (b.syncAgain);
    } finally {
      b.syncing = false;
    }
  }

  function setState(b, state) {
    if (typeof state === "string" && state) b.state = state;
  }

  /** Merges the REST state into what we have; text only grows. */
  function adopt(b, s) {
    if (Number.isInteger(s.max_turns) && s.max_turns > 0) b.maxTurns = s.max_turns;
    if (typeof s.is_creator === "boolean") b.isCreator = s.is_creator;
    if (typeof s.can_abandon === "boolean") b.canAbandon = s.can_abandon;
    const turns = Array.isArray(s.turns) ? s.turns.slice().sort((x, y) => x.index - y.index) : [];
    for (const rt of turns) {
      if (!rt || !Number.isInteger(rt.index)) continue;
      const t = ensureTurn(b, rt.index);
      if (typeof rt.prompt === "string") t.prompt = rt.prompt;
      if (rt.image_url !== undefined) t.imageUrl = rt.image_url || null;
      if (rt.video_url !== undefined) t.videoUrl = rt.video_url || null;
      if (Array.isArray(rt.video_frames)) t.videoFrames = rt.video_frames;
      if (rt.audio_url !== undefined) t.audioUrl = rt.audio_url || null;
      if (Array.isArray(rt.audio_peaks)) t.audioPeaks = rt.audio_peaks;
      const responses = rt.responses || {};
      for (const k of SIDES) {
        const rs = responses[k];
        if (!rs) continue;
        const side = t.sides[k];
        const text = typeof rs.text === "string" ? rs.text : "";
        const n = cpLen(text);
        if (n > side.len) { side.text = text; side.len = n; }
        if (rs.status in STATUS_RANK) {
          if (rs.status === "done" || rs.status === "failed") side.status = rs.status;
          else if (!terminal(side) && STATUS_RANK[rs.status] > STATUS_RANK[side.status]) side.status = rs.status;
        }
        if (rs.error) side.error = rs.error;
      }
    }
    const lastRest = turns[turns.length - 1];
    const restTerminal = !!lastRest && SIDES.every((k) => {
      const st = lastRest.responses && lastRest.responses[k] && lastRest.responses[k].status;
      return st === "done" || st === "failed";
    });
    b.flags = {
      turns: turns.length,
      terminal: restTerminal,
      canVote: !!s.can_vote,
      canFollowUp: !!s.can_follow_up,
    };
    setState(b, s.state);
    if (s.vote) b.vote = s.vote;
    if (s.models) b.models = s.models;
    renderAll(b);
    if (isVoted(b) && b.models) reveal(b);
    if (!needsLive(b) && (isVoted(b) || isAbandoned(b) || (b.socket && b.socket.state !== "open"))) stopStream(b);
  }

  function handleMessage(b, m) {
    const k = m.side;
    switch (m.type) {
      // On joining, the server sends each answer's text so far (offset 0); it merges like a delta.
      case "sync":
      case "delta": {
        if (k !== "a" && k !== "b") return;
        const t = ensureTurn(b, m.turn);
        const side = t.sides[k];
        const text = typeof m.text === "string" ? m.text : "";
        const n = cpLen(text);
        const offset = Number.isInteger(m.offset) ? m.offset : side.len;
        if (m.type === "sync" && (m.status === "done" || m.status === "failed")) {
          // A side that ended before we joined: its whole text, and its end, in one message.
          if (n > side.len) { side.text = text; side.len = n; }
          side.status = m.status;
          if (m.error) side.error = m.error;
          renderAll(b);
          return;
        }
        if (offset > side.len) { resync(b); return; } // gap: fetch the full text
        if (offset + n <= side.len) return; // duplicate
        const add = offset === side.len ? text : cpSlice(text, side.len - offset);
        side.text += add;
        side.len = offset + n;
        const newTurn = !t.dom || !t.dom.a;
        if (side.status === "queued") side.status = "streaming";
        if (newTurn) { renderAll(b); return; }
        const d = t.dom[k];
        if (window.ArenaMarkdown) window.ArenaMarkdown.renderSoon(d.answer, side.text, () => autoScroll(k));
        else d.answer.append(add); // a Text node: model output is never parsed as HTML
        d.source = side.text;
        d.renderedLen = side.len;
        renderSide(b, t, k);
        autoScroll(k);
        if (ui.panes[k].root.dataset.status !== side.status) updateUI();
        return;
      }
      case "done":
      case "error": {
        if (k !== "a" && k !== "b") return;
        const t = ensureTurn(b, m.turn);
        const side = t.sides[k];
        if (m.type === "done") {
          if (side.status !== "failed") side.status = "done";
        } else {
          side.status = "failed";
          side.error = typeof m.message === "string" && m.message ? m.message : side.error;
        }
        renderAll(b);
        resync(b); // pick up any missed tail and the server's can_vote / can_follow_up
        return;
      }
      // The answer's place in its model's waiting line; 0 once a worker has taken it.
      case "queue": {
        if ((k !== "a" && k !== "b") || !Number.isInteger(m.position) || m.position < 0) return;
        const t = ensureTurn(b, m.turn);
        const side = t.sides[k];
        if (terminal(side) || side.len > 0) return;
        // Places only shrink, and messages sent by different workers may cross: keep the smallest,
        // and the estimate that came with it.
        if (side.place !== null && m.position > side.place) return;
        side.place = m.position;
        side.eta = Number.isFinite(m.eta_s) ? m.eta_s : null;
        if (side.place === 0 && side.status === "queued") side.status = "streaming";
        if (!t.dom || !t.dom[k]) { renderAll(b); return; }
        renderSide(b, t, k);
        if (ui.panes[k].root.dataset.status !== side.status) updateUI();
        return;
      }
      case "state":
        setState(b, m.state);
        if (isAbandoned(b)) stopStream(b);
        updateUI();
        resync(b);
        return;
      default:
    }
  }

  // ---------------------------------------------------------------- reveal
  function normModels(data) {
    if (!data) return null;
    const a = data.model_a || data.a;
    const bm = data.model_b || data.b;
    return a && bm ? { a, b: bm } : null;
  }

  function reveal(b) {
    const models = normModels(b.models);
    if (!models) return;
    const winner = b.vote && b.vote.winner;
    for (const k of SIDES) {
      const p = ui.panes[k];
      const m = models[k] || {};
      const name = m.name || m.slug || "Unknown model";
      if (m.slug) {
        const link = document.createElement("a");
        link.className = "model-link";
        link.href = `/models/${encodeURIComponent(m.slug)}/`;
        link.textContent = name;
        p.name.replaceChildren(link);
      } else {
        p.name.textContent = name;
      }
      p.meta.textContent = [m.organization, m.license].filter(Boolean).join(" · ");
      const e = b.elo && (b.elo["model_" + k] || b.elo[k]);
      if (e && Number.isFinite(e.before) && Number.isFinite(e.after)) {
        const d = e.after - e.before;
        const sign = d > 0.05 ? "+" : d < -0.05 ? "−" : "±";
        p.elo.textContent = `Elo ${Math.round(e.after)} (${sign}${Math.abs(d).toFixed(1)})`;
        p.elo.className = "elo-change" + (d > 0.05 ? " up" : d < -0.05 ? " down" : "");
      }
      p.reveal.classList.add("is-revealed");
      const won = winner === "model_" + k;
      const lost = (winner === "model_a" || winner === "model_b") ? !won : winner === "tie (bothbad)";
      p.root.classList.toggle("is-winner", won);
      p.root.classList.toggle("is-loser", lost);
    }
    for (const btn of ui.votes) {
      const chosen = btn.dataset.winner === winner;
      btn.classList.toggle("is-chosen", chosen);
      btn.setAttribute("aria-pressed", String(chosen));
    }
  }

  async function vote(winner) {
    const b = battle;
    if (!b || votePending || !canVoteNow(b)) return;
    votePending = true;
    clearError();
    updateUI();
    const r = await api("POST", `/battles/${encodeURIComponent(b.id)}/vote`, { winner });
    votePending = false;
    if (b !== battle) return;
    if (!r.ok) {
      showError(r.message);
      updateUI();
      if (r.status === 409 || r.status === 403) resync(b);
      return;
    }
    const d = r.data || {};
    b.vote = { winner: d.winner || winner };
    b.models = normModels(d) || b.models;
    b.elo = d.elo || null;
    setState(b, "voted");
    stopStream(b);
    reveal(b);
    updateUI();
    const models = normModels(b.models);
    if (models) {
      const who = (k) => `Model ${k.toUpperCase()} was ${models[k].name || models[k].slug}` +
        (models[k].organization ? ` by ${models[k].organization}` : "");
      announce(`Vote recorded. ${who("a")}. ${who("b")}.`);
    } else {
      announce("Vote recorded.");
    }
    ui.newRound.focus();
  }
  for (const btn of ui.votes) btn.addEventListener("click", () => vote(btn.dataset.winner));

  // ---------------------------------------------------------------- sending
  function setBusy(v) {
    busy = v;
    ui.form.setAttribute("aria-busy", String(v));
    updateUI();
  }

  async function submitPrompt() {
    if (busy) return;
    const text = ui.prompt.value.trim();
    if (!text) {
      showError("Please type a prompt first.");
      ui.prompt.setAttribute("aria-invalid", "true");
      ui.prompt.focus();
      return;
    }
    const b = battle;
    if (b && !canFollowUpNow(b)) return;
    if (!b && media && media.recording()) {
      showError("Stop the recording first, then send.");
      return;
    }
    const framesProblem = !b && media ? media.framesProblem() : "";
    if (framesProblem) {
      showError(framesProblem);
      byId("frame-count").focus();
      return;
    }
    clearError();
    setBusy(true);
    try {
      if (!b) {
        // A file still being checked goes with the battle only if it turns out to be readable.
        while (fileCheck) await fileCheck;
        if (ui.formError.textContent) return;
        await createBattle(text);
      } else {
        await followUp(b, text);
      }
    } finally {
      setBusy(false);
    }
  }

  async function createBattle(text) {
    const fd = new FormData();
    fd.append("prompt", text);
    if (file) fd.append("image", file, file.name || "image." + (fileType(file).split("/")[1] || "png"));
    if (media) media.appendTo(fd);
    const r = await api("POST", "/battles", fd);
    if (battle) return; // Back or Forward went to a battle meanwhile: leave this one be
    if (!r.ok || !r.data || !r.data.id) {
      // Keep the prompt and the image: nothing is lost.
      showError(r.ok ? "The server sent an unexpected reply. Please try again." : r.message);
      return;
    }
    const hadFocus = document.activeElement;
    ui.prompt.value = "";
    const localImage = takeFile();
    const localMedia = media ? media.take() : null;
    startBattleView(r.data, { prompt: text, localImage, localMedia });
    announce("Battle started. Both models are answering.");
    if (hadFocus === ui.send || !document.activeElement || document.activeElement === document.body) focusAfterSend();
  }

  async function followUp(b, text) {
    const fd = new FormData();
    fd.append("prompt", text);
    const r = await api("POST", `/battles/${encodeURIComponent(b.id)}/turns`, fd);
    if (b !== battle) return;
    if (!r.ok) {
      showError(r.message);
      if (r.status === 409 || r.status === 403) resync(b);
      return;
    }
    ui.prompt.value = "";
    if (r.data && Array.isArray(r.data.turns)) adopt(b, r.data);
    else resync(b);
    // New answers arrive on the same socket; reopen it if it was closed.
    connect(b);
    announce(`Follow-up sent. Turn ${b.turns.length} of ${b.maxTurns}.`);
    for (const k of SIDES) { ui.panes[k].stick = true; autoScroll(k); }
  }

  /** The same first prompt to a new pair; the server abandons this battle first if it is unfinished. */
  async function retry() {
    const b = battle;
    if (!b || busy) return;
    clearError();
    setBusy(true);
    try {
      const r = await api("POST", `/battles/${encodeURIComponent(b.id)}/retry`);
      if (b !== battle) return;
      if (!r.ok || !r.data || !r.data.id) {
        showError(r.ok ? "The server sent an unexpected reply. Please try again." : r.message);
        return;
      }
      const first = b.turns[0] || {};
      closeBattle(b, false);
      const localImage = b.localImage;
      const localMedia = b.localMedia;
      b.localImage = "";
      b.localMedia = null;
      const seedMedia = {
        videoUrl: first.videoUrl, videoFrames: first.videoFrames, audioUrl: first.audioUrl, audioPeaks: first.audioPeaks,
      };
      startBattleView(r.data, { prompt: first.prompt, imageUrl: first.imageUrl, localImage, localMedia, media: seedMedia });
      announce("Retrying with a new pair of models.");
      ui.panes.a.body.focus({ preventScroll: true });
    } finally {
      setBusy(false);
    }
  }

  /** Stops the battle's unfinished answers on the server, then offers a fresh composer. */
  async function abandon() {
    const b = battle;
    if (!b || busy || !canAbandon(b)) return;
    clearError();
    setBusy(true);
    try {
      const r = await api("POST", `/battles/${encodeURIComponent(b.id)}/abandon`);
      if (b !== battle) return;
      if (!r.ok) {
        showError(r.message);
        if (r.status === 409 || r.status === 403) resync(b);
        return;
      }
      newRound();
      announce("You left the battle and its answers were stopped. Type a prompt to start a new round.");
    } finally {
      setBusy(false);
    }
  }

  function newRound() {
    closeBattle(battle, true);
    battle = null;
    votePending = false;
    showAddress(null);
    resetPanes();
    ui.battleImg.removeAttribute("src");
    ui.prompt.value = "";
    setFile(null);
    if (media) media.clear();
    clearError();
    updateUI();
    ui.prompt.focus();
    announce("New round. Add an image, a video or a sound if you like, and type a prompt.");
  }

  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitPrompt();
  });
  ui.prompt.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    if (!ui.send.disabled) submitPrompt();
  });
  ui.prompt.addEventListener("input", () => {
    if (ui.prompt.getAttribute("aria-invalid") === "true" && ui.prompt.value.trim()) clearError();
  });
  ui.retry.addEventListener("click", retry);
  ui.abandon.addEventListener("click", abandon);
  ui.newRound.addEventListener("click", newRound);

  // Back and Forward between battles (and the empty composer) within this page.
  window.addEventListener("popstate", showLocation);
  // A page brought back from the back/forward cache lost its socket: catch up.
  window.addEventListener("pageshow", (e) => {
    if (!e.persisted || !battle || battle.closed) return;
    if (battle.socket) stopStream(battle);
    resync(battle);
    if (needsLive(battle)) connect(battle);
  });

  // ---------------------------------------------------------------- init
  ui.imageTypes.textContent = typesLabel();
  if (cfg.maxUploadBytes) ui.imageLimit.textContent = fmtBytes(cfg.maxUploadBytes);
  resetPanes();
  updateUI();
  showLocation();
})();
