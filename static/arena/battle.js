/* Arena Hub — blind battle page.
 *
 * Plain ES2020; needs static/core/socket.js, loaded before it, and uses
 * static/arena/markdown.js where it loaded. Talks only to the REST API under /api/v1
 * and the battle WebSocket. Model output and prompts reach the page only through
 * ArenaMarkdown (sanitised Markdown) or, without it, as text; never as raw HTML.
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

  const cfg = {
    maxTurns: parseInt(root.dataset.maxTurns, 10) || 1,
    maxUploadBytes: parseInt(root.dataset.maxUploadBytes, 10) || 0,
    acceptedTypes: (root.dataset.acceptedTypes || "image/png,image/jpeg,image/webp,image/gif")
      .split(",").map((s) => s.trim().toLowerCase()).filter(Boolean),
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
    newRound: byId("new-round"),
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
      stick: true,
    };
  }

  // ---------------------------------------------------------------- state
  let csrfToken = "";
  let sessionReady = refreshSession();
  let file = null; // the selected image (File/Blob)
  let fileUrl = ""; // object URL of its preview
  let battle = null; // the battle on screen, see startBattleView()
  let busy = false; // a create / follow-up / retry request is in flight
  let votePending = false;

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

  function readCookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
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
    } catch (_) { /* offline: fall back to the cookie below */ }
    if (!csrfToken) csrfToken = readCookie("csrftoken");
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
      else fallback.focus();
    }
  }

  // ---------------------------------------------------------------- image input
  function fileType(f) {
    const t = (f.type || "").toLowerCase();
    if (t) return t;
    const ext = ((f.name || "").split(".").pop() || "").toLowerCase();
    return EXT_TYPES[ext] || "";
  }

  function acceptFile(f) {
    if (!f) return;
    if (battle) {
      showError("Images can only be added to a new battle. Finish this one, or start a new round.");
      return;
    }
    const name = f.name ? `“${f.name}”` : "That file";
    if (!cfg.acceptedTypes.includes(fileType(f))) {
      showError(`${name} isn’t a supported image. Please use ${typesLabel()}.`);
      return;
    }
    if (cfg.maxUploadBytes && f.size > cfg.maxUploadBytes) {
      showError(`${name} is ${fmtBytes(f.size)} — the limit is ${fmtBytes(cfg.maxUploadBytes)}. Please choose a smaller image.`);
      return;
    }
    clearError();
    setFile(f);
  }

  function setFile(f) {
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
    if (!file) ui.fileInput.value = "";
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
    const item = items.find((it) => it.kind === "file" && it.type.startsWith("image/"));
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
    // place: where the answer stands in its model's waiting line (0: a worker took it), null if unknown.
    return { text: "", len: 0, status: "queued", error: null, place: null };
  }
  function ensureTurn(b, index) {
    const i = Number.isInteger(index) && index >= 0 ? index : Math.max(0, b.turns.length - 1);
    while (b.turns.length <= i) {
      b.turns.push({ index: b.turns.length, prompt: "", imageUrl: null, sides: { a: newSide(), b: newSide() }, announced: false });
    }
    return b.turns[i];
  }
  const latest = (b) => (b && b.turns.length ? b.turns[b.turns.length - 1] : null);
  const terminal = (s) => s.status === "done" || s.status === "failed";
  const bothTerminal = (t) => !!t && SIDES.every((k) => terminal(t.sides[k]));
  const bothDone = (t) => !!t && SIDES.every((k) => t.sides[k].status === "done");
  const anyFailed = (t) => !!t && SIDES.some((k) => t.sides[k].status === "failed");
  const isVoted = (b) => !!b && (b.state === "voted" || !!b.vote);
  /** The server's can_vote/can_follow_up flags apply only if they were computed for the turn we show, finished. */
  const flagsCurrent = (b) => !!b.flags && b.flags.turns === b.turns.length && b.flags.terminal;

  function canVoteNow(b) {
    if (!b || b.gone || isVoted(b) || !bothTerminal(latest(b))) return false;
    return flagsCurrent(b) ? b.flags.canVote : true;
  }
  function canFollowUpNow(b) {
    if (!b || b.gone || isVoted(b) || b.state === "failed" || !bothDone(latest(b)) || b.turns.length >= b.maxTurns) return false;
    return flagsCurrent(b) ? b.flags.canFollowUp : true;
  }
  function followUpClosed(b) {
    const t = latest(b);
    return !!b.gone || isVoted(b) || b.state === "failed" || anyFailed(t) || b.turns.length >= b.maxTurns ||
      (bothDone(t) && flagsCurrent(b) && !b.flags.canFollowUp);
  }
  const needsLive = (b) => !isVoted(b) && (b.state === "generating" || b.turns.some((t) => !bothTerminal(t)));

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
    turn.append(prompt, place, answer, actions, error);
    const d = { turn, prompt, place, answer, error, renderedLen: 0, status: "", source: "", promptSource: null };
    copy.addEventListener("click", () => copyAnswer(d.source, copied));
    return d;
  }

  /** Model text and prompts as sanitised Markdown; plain text if markdown.js did not load. */
  function showText(el, text, streaming) {
    const md = window.ArenaMarkdown;
    if (!md) el.textContent = text;
    else if (streaming) md.renderSoon(el, text);
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
  /** What the pane says while the answer waits in line, until its first text; "" once there is nothing to say. */
  function placeLabel(s) {
    if (s.status !== "queued" || s.len > 0 || !Number.isInteger(s.place) || s.place < 1) return "";
    return "Waiting for a free worker — " + (s.place === 1 ? "next in line" : ordinal(s.place) + " in line");
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
      p.name.textContent = "";
      p.meta.textContent = "";
      p.elo.textContent = "";
      p.elo.className = "elo-change";
      p.stick = true;
      p.body.scrollTop = 0;
      p.lastTop = 0;
    }
    for (const btn of ui.votes) {
      btn.classList.remove("is-chosen");
      btn.removeAttribute("aria-pressed");
    }
  }

  const nearBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  for (const k of SIDES) {
    const p = ui.panes[k];
    p.lastTop = 0;
    // Stick to the bottom unless the user scrolls up; re-stick when they scroll back down.
    p.body.addEventListener("scroll", () => {
      const top = p.body.scrollTop;
      if (nearBottom(p.body)) p.stick = true;
      else if (top < p.lastTop - 2) p.stick = false;
      p.lastTop = top;
    }, { passive: true });
  }
  function autoScroll(k) {
    const p = ui.panes[k];
    if (p.stick) p.body.scrollTop = p.body.scrollHeight;
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

  function renderSide(b, t, k) {
    const s = t.sides[k];
    const d = t.dom && t.dom[k];
    if (!d) return;
    if (d.promptSource !== t.prompt) {
      d.promptSource = t.prompt;
      showText(d.prompt, t.prompt, false);
    }
    if (d.renderedLen !== s.len) {
      showText(d.answer, s.text, !terminal(s));
      d.source = s.text;
      d.renderedLen = s.len;
    }
    const place = placeLabel(s);
    if (d.place.textContent !== place) d.place.textContent = place;
    d.turn.classList.toggle("has-place", !!place);
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
    for (const k of SIDES) autoScroll(k);
    updateUI();
  }

  function updateUI() {
    const b = battle;
    const t = latest(b);
    const voted = isVoted(b);
    root.dataset.phase = b ? "battle" : "idle";
    document.body.dataset.battleState = b ? b.state || "generating" : "idle";

    const max = b ? b.maxTurns : cfg.maxTurns;
    ui.turnCounter.textContent = `Turn ${b ? Math.max(1, b.turns.length) : 1} of ${max}`;

    for (const k of SIDES) {
      const p = ui.panes[k];
      const status = t ? t.sides[k].status : "queued";
      p.root.dataset.status = status;
      p.badge.textContent = b ? STATUS_LABEL[status] || status : "";
    }

    // Shared image of the first turn, above both panes.
    const first = b && b.turns[0];
    const src = (b && b.localImage) || (first && first.imageUrl) || "";
    if (src && ui.battleImg.getAttribute("src") !== src) ui.battleImg.src = src;
    ui.battleImage.hidden = !src;

    // Voting.
    const canVote = canVoteNow(b);
    for (const btn of ui.votes) {
      setDisabled(btn, !canVote, voted ? ui.newRound : ui.prompt);
      btn.setAttribute("aria-busy", String(votePending));
    }
    ui.voteLabel.textContent = voted ? "Thanks for voting!"
      : canVote ? "Which answer is better?"
      : b && bothTerminal(t) ? "Voting isn’t available for this battle."
      : "Which answer is better? (vote when both answers are finished)";

    ui.retry.hidden = !(b && !voted && !b.gone && (anyFailed(t) || b.state === "failed"));
    ui.newRound.hidden = !(b && voted);

    // Composer: new battle, follow-up, or closed.
    ui.dropZone.hidden = !!b;
    let hint = DEFAULT_HINT;
    let placeholder = DEFAULT_PLACEHOLDER;
    if (!b) {
      ui.prompt.disabled = false;
      ui.send.disabled = false;
    } else if (voted) {
      setDisabled(ui.prompt, true, ui.newRound);
      setDisabled(ui.send, true, ui.newRound);
      hint = "Vote recorded. Press “New round” to start another battle.";
      placeholder = "Start a new round to ask something else.";
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
    if (!b || !t || t.announced || !bothTerminal(t) || isVoted(b)) return;
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

  /** Forgets a battle for good (new round, or switched to a retry). */
  function closeBattle(b, revokeImage) {
    if (!b) return;
    b.closed = true;
    stopStream(b);
    if (revokeImage && b.localImage) URL.revokeObjectURL(b.localImage);
  }

  function startBattleView(created, seed) {
    const b = {
      id: created.id,
      stream: created.stream || `/ws/battles/${created.id}/`,
      state: created.state || "generating",
      maxTurns: cfg.maxTurns,
      turns: [],
      flags: null,
      vote: null,
      models: null,
      elo: null,
      localImage: seed.localImage || "",
      socket: null,
      syncing: false,
      syncAgain: false,
      closed: false,
    };
    const t = ensureTurn(b, 0);
    t.prompt = seed.prompt || "";
    t.imageUrl = seed.imageUrl || null;
    battle = b;
    resetPanes();
    // The static turn-0 DOM from resetPanes() is replaced by syncTurnDom().
    renderAll(b);
    connect(b);
    return b;
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
        ui.connection.hidden = !(state === "reconnecting" && retries > 1);
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
          showError("This battle no longer exists. Start a new round.");
          b.gone = true;
          stopStream(b);
          b.closed = true;
          updateUI();
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
    const turns = Array.isArray(s.turns) ? s.turns.slice().sort((x, y) => x.index - y.index) : [];
    for (const rt of turns) {
      if (!rt || !Number.isInteger(rt.index)) continue;
      const t = ensureTurn(b, rt.index);
      if (typeof rt.prompt === "string") t.prompt = rt.prompt;
      if (rt.image_url !== undefined) t.imageUrl = rt.image_url || null;
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
    if (isVoted(b)) {
      if (b.models) reveal(b);
      stopStream(b);
    }
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
        if (terminal(side)) return;
        // Places only shrink, and messages sent by different workers may cross: keep the smallest.
        side.place = side.place === null ? m.position : Math.min(side.place, m.position);
        if (side.place === 0 && side.status === "queued") side.status = "streaming";
        if (!t.dom || !t.dom[k]) { renderAll(b); return; }
        renderSide(b, t, k);
        if (ui.panes[k].root.dataset.status !== side.status) updateUI();
        return;
      }
      case "state":
        setState(b, m.state);
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
      p.name.textContent = m.name || m.slug || "Unknown model";
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
      if (r.status === 409) resync(b);
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
    clearError();
    setBusy(true);
    try {
      if (!b) await createBattle(text);
      else await followUp(b, text);
    } finally {
      setBusy(false);
    }
  }

  async function createBattle(text) {
    const fd = new FormData();
    fd.append("prompt", text);
    if (file) fd.append("image", file, file.name || "image." + (fileType(file).split("/")[1] || "png"));
    const r = await api("POST", "/battles", fd);
    if (!r.ok || !r.data || !r.data.id) {
      // Keep the prompt and the image: nothing is lost.
      showError(r.ok ? "The server sent an unexpected reply. Please try again." : r.message);
      return;
    }
    const hadFocus = document.activeElement;
    ui.prompt.value = "";
    const localImage = takeFile();
    startBattleView(r.data, { prompt: text, localImage });
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
      if (r.status === 409) resync(b);
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
      b.localImage = "";
      startBattleView(r.data, { prompt: first.prompt, imageUrl: first.imageUrl, localImage });
      announce("Retrying with a new pair of models.");
      ui.panes.a.body.focus();
    } finally {
      setBusy(false);
    }
  }

  function newRound() {
    closeBattle(battle, true);
    battle = null;
    votePending = false;
    resetPanes();
    ui.battleImg.removeAttribute("src");
    ui.prompt.value = "";
    setFile(null);
    clearError();
    updateUI();
    ui.prompt.focus();
    announce("New round. Add an image if you like, and type a prompt.");
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
  ui.newRound.addEventListener("click", newRound);

  // ---------------------------------------------------------------- init
  ui.imageTypes.textContent = typesLabel();
  if (cfg.maxUploadBytes) ui.imageLimit.textContent = fmtBytes(cfg.maxUploadBytes);
  resetPanes();
  updateUI();
})();
