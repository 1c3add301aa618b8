/* Arena Hub — video and sound on the battle page; static/arena/battle.js uses it as window.ArenaMedia.
 *
 * The composer's part (ArenaMedia.composer): a video or a sound picked, dropped or recorded in the
 * browser (MediaRecorder: the microphone, and the camera where there is one), checked for its type, size
 * and, where the browser can tell, its length before anything is uploaded; previewed; sent as the `video`
 * or `audio` part of POST /api/v1/battles, with the frame count the voter chose for a video.
 *
 * The battle's part (ArenaMedia.display): the video with the strip of frames both models saw, and the
 * sound with its waveform, from the battle's state (video_url, video_frames, audio_url, audio_peaks).
 * Plain ES2020, no inline styles (the page's Content-Security-Policy): bars and playheads are SVG
 * attributes.
 */
(() => {
  "use strict";

  const root = document.getElementById("arena");
  if (!root) return;

  const byId = (id) => document.getElementById(id);
  const typeList = (s) => (s || "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
  const cfg = {
    videoTypes: typeList(root.dataset.videoTypes || "video/mp4,video/webm,video/quicktime"),
    audioTypes: typeList(root.dataset.audioTypes || "audio/wav,audio/mpeg,audio/mp4,audio/ogg,audio/flac,audio/webm"),
    maxBytes: { video: parseInt(root.dataset.maxVideoBytes, 10) || 0, audio: parseInt(root.dataset.maxAudioBytes, 10) || 0 },
    maxSeconds: { video: parseFloat(root.dataset.maxVideoS) || 60, audio: parseFloat(root.dataset.maxAudioS) || 30 },
  };
  // What browsers and systems call these files besides the names the server uses.
  const ALIASES = {
    "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg", "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4", "audio/aac": "audio/mp4",
    "audio/x-flac": "audio/flac", "application/ogg": "audio/ogg", "audio/opus": "audio/ogg", "video/x-m4v": "video/mp4",
  };
  const EXTENSIONS = {
    mp4: "video/mp4", m4v: "video/mp4", mov: "video/quicktime", webm: "video/webm",
    wav: "audio/wav", mp3: "audio/mpeg", m4a: "audio/mp4", ogg: "audio/ogg", oga: "audio/ogg",
    opus: "audio/ogg", flac: "audio/flac",
  };
  const WORD = { video: "video", audio: "sound" };
  const LIMIT_SLACK_S = 0.5; // as the server allows: an encoder's padding lengthens a recording a little

  function mediaType(f) {
    let t = (f.type || "").toLowerCase().split(";")[0].trim();
    t = ALIASES[t] || t;
    if (!t || t === "application/octet-stream") {
      t = EXTENSIONS[((f.name || "").split(".").pop() || "").toLowerCase()] || "";
    }
    return t;
  }

  /** "video", "audio", or "" for a file that is neither (an image, or something else). */
  function kindOf(f) {
    const t = mediaType(f);
    if (cfg.videoTypes.includes(t)) return "video";
    if (cfg.audioTypes.includes(t)) return "audio";
    return "";
  }

  function fmtLength(s) {
    if (!Number.isFinite(s)) return "";
    if (s < 60) return `${Math.max(0.1, Math.round(s * 10) / 10)} s`;
    const m = Math.floor(s / 60);
    const rest = Math.round(s - m * 60);
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }

  /** What the browser reads of the file's header: its length and whether it has pictures. `ok` is
   * false where it cannot read a file of a type it says it plays; null where it cannot tell. */
  function metadataOf(f, type) {
    return new Promise((resolve) => {
      const el = document.createElement("video");
      const url = URL.createObjectURL(f);
      let done = false;
      const finish = (result) => {
        if (done) return;
        done = true;
        window.clearTimeout(timer);
        el.removeAttribute("src");
        el.load();
        URL.revokeObjectURL(url);
        resolve(result);
      };
      const timer = window.setTimeout(() => finish({ ok: null }), 5000);
      el.preload = "metadata";
      el.muted = true;
      el.addEventListener("loadedmetadata", () => finish({ ok: true, duration: el.duration, hasVideo: el.videoWidth > 0 }));
      el.addEventListener("error", () => finish({ ok: el.canPlayType(type) ? false : null }));
      el.src = url;
    });
  }

  // ------------------------------------------------------------------ the composer
  /**
   * hooks: fmtBytes(n), error(message), ok() (the file was taken: clear any error), announce(message),
   * dropImage() (a video goes alone), busy() (a battle is on screen: nothing can be attached).
   */
  function composer(hooks) {
    const ui = {
      preview: byId("media-preview"),
      video: byId("media-preview-video"),
      audio: byId("media-preview-audio"),
      name: byId("media-preview").querySelector(".media-preview__name"),
      frames: byId("frames-control"),
      frameCount: byId("frame-count"),
      remove: byId("remove-media"),
      dropZone: byId("drop-zone"),
      recorder: byId("recorder"),
      recordAudio: byId("record-audio"),
      recordVideo: byId("record-video"),
      recordStop: byId("record-stop"),
      recordStatus: byId("record-status"),
      live: byId("record-live"),
    };
    const framesDefault = ui.frameCount.value;
    let chosen = null; // { kind, file, url, duration }
    let rec = null; // the recording under way
    let checking = 0; // the latest file being checked: an earlier one finishing later is dropped

    function show() {
      const f = chosen;
      ui.preview.hidden = !f;
      ui.dropZone.classList.toggle("has-video", !!f && f.kind === "video");
      ui.dropZone.classList.toggle("has-audio", !!f && f.kind === "audio");
      ui.video.hidden = !f || f.kind !== "video";
      ui.audio.hidden = !f || f.kind !== "audio";
      ui.frames.hidden = !f || f.kind !== "video";
      for (const el of [ui.video, ui.audio]) {
        const want = f && !el.hidden ? f.url : "";
        if (want && el.getAttribute("src") !== want) el.src = want;
        if (!want && el.hasAttribute("src")) { el.removeAttribute("src"); el.load(); }
      }
      if (f) {
        const length = fmtLength(f.duration);
        ui.name.textContent = [f.file.name || `Recorded ${WORD[f.kind]}`, hooks.fmtBytes(f.file.size), length].filter(Boolean).join(" · ");
        ui.remove.setAttribute("aria-label", `Remove the ${WORD[f.kind]}`);
      } else {
        ui.name.textContent = "";
      }
    }

    function set(next, revoke) {
      if (chosen && revoke && chosen.url) URL.revokeObjectURL(chosen.url);
      chosen = next;
      if (!next || next.kind !== "video") ui.frameCount.value = framesDefault;
      show();
    }

    /** Checks and takes a video or sound file (`as` forces the kind, for recordings); resolves when done. */
    async function accept(f, as) {
      const name = f.name ? `“${f.name}”` : "The recording";
      const type = mediaType(f);
      let kind = as || kindOf(f);
      const mine = ++checking;
      const meta = await metadataOf(f, type);
      if (mine !== checking) return false; // another file was chosen meanwhile
      // A WebM or MP4 holding only sound is a sound, whatever its name says.
      if (kind === "video" && meta.ok && !meta.hasVideo) kind = "audio";
      if (meta.ok === false) {
        hooks.error(`${name} can’t be read as a ${WORD[kind]} — the file may be damaged or not really what its name says. Please choose another.`);
        return false;
      }
      const limit = cfg.maxBytes[kind];
      if (limit && f.size > limit) {
        hooks.error(`${name} is ${hooks.fmtBytes(f.size)} — the limit for a ${WORD[kind]} is ${hooks.fmtBytes(limit)}. Please choose a smaller one.`);
        return false;
      }
      const max = cfg.maxSeconds[kind];
      if (meta.ok && Number.isFinite(meta.duration) && meta.duration > max + LIMIT_SLACK_S) {
        hooks.error(`${name} is ${fmtLength(meta.duration)} long — a ${WORD[kind]} may be at most ${fmtLength(max)}. Please choose a shorter one.`);
        return false;
      }
      if (kind === "video") hooks.dropImage();
      const replaced = chosen && chosen.kind !== kind ? chosen.kind : "";
      set({ kind, file: f, url: URL.createObjectURL(f), duration: meta.ok ? meta.duration : NaN }, true);
      hooks.ok();
      if (replaced) hooks.announce(`The ${WORD[replaced]} was replaced by the ${WORD[kind]}: a video goes alone.`);
      else hooks.announce(`${kind === "video" ? "Video" : "Sound"} added.`);
      return true;
    }

    /** An image was added: a video cannot go with it (a sound can). */
    function imageAdded() {
      if (chosen && chosen.kind === "video") {
        set(null, true);
        hooks.announce("The video was removed: an image goes with a sound, not with a video.");
      }
    }

    /** The frame count as typed, or a sentence saying what is wrong with it. */
    function framesProblem() {
      if (!chosen || chosen.kind !== "video") return "";
      const min = parseInt(ui.frameCount.min, 10);
      const max = parseInt(ui.frameCount.max, 10);
      const value = ui.frameCount.value.trim();
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < min || n > max) {
        return `Please choose between ${min} and ${max} frames for the models to see.`;
      }
      return "";
    }

    function appendTo(fd) {
      if (!chosen) return;
      const f = chosen.file;
      const ext = (mediaType(f).split("/")[1] || "bin").replace("quicktime", "mov").replace("mpeg", "mp3");
      fd.append(chosen.kind, f, f.name || `recording.${ext}`);
      if (chosen.kind === "video") fd.append("frames", ui.frameCount.value.trim());
    }

    /** Hands the local preview's URL over to the battle view (it stays alive) and empties the composer. */
    function take() {
      const taken = chosen ? { kind: chosen.kind, url: chosen.url } : null;
      set(null, false);
      return taken;
    }

    ui.remove.addEventListener("click", () => {
      const kind = chosen && chosen.kind;
      set(null, true);
      if (kind) hooks.announce(`${kind === "video" ? "Video" : "Sound"} removed.`);
      byId("image-input").focus();
    });

    // ---------------------------------------------------------------- recording
    const canRecord = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
    const RECORD_TYPES = {
      audio: ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"],
      video: ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm", "video/mp4"],
    };

    function recordingShown(on) {
      ui.recordAudio.hidden = on;
      ui.recordVideo.hidden = on || !ui.recordVideo.dataset.available;
      ui.recordStop.hidden = !on;
      ui.live.hidden = !on || !rec || rec.kind !== "video";
      ui.dropZone.classList.toggle("is-recording", on);
    }

    function deviceProblem(kind, error) {
      const device = kind === "video" ? "camera and microphone" : "microphone";
      if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
        return `The browser may not use your ${device}. Allow it for this site (the address bar’s site settings), or choose a file instead.`;
      }
      if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) {
        return `No ${device} was found. Connect one, or choose a file instead.`;
      }
      return `Recording couldn’t start${error && error.message ? ` (${error.message})` : ""}. Please choose a file instead.`;
    }

    async function recordStart(kind) {
      if (rec || hooks.busy()) return;
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia(kind === "video" ? { audio: true, video: true } : { audio: true });
      } catch (error) {
        hooks.error(deviceProblem(kind, error));
        return;
      }
      const mimeType = RECORD_TYPES[kind].find((t) => window.MediaRecorder.isTypeSupported(t)) || "";
      let recorder;
      try {
        recorder = new window.MediaRecorder(stream, mimeType ? { mimeType } : undefined);
      } catch (error) {
        for (const track of stream.getTracks()) track.stop();
        hooks.error(deviceProblem(kind, error));
        return;
      }
      const max = cfg.maxSeconds[kind];
      rec = { kind, stream, recorder, chunks: [], started: performance.now(), timer: 0 };
      const current = rec;
      recorder.addEventListener("dataavailable", (e) => { if (e.data && e.data.size) current.chunks.push(e.data); });
      recorder.addEventListener("stop", () => recordFinish(current));
      recorder.start(250);
      if (kind === "video") {
        ui.live.srcObject = stream;
        ui.live.play().catch(() => {});
      }
      const tick = () => {
        const s = (performance.now() - current.started) / 1000;
        ui.recordStatus.textContent = `Recording… ${Math.floor(s)} s of at most ${Math.round(max)} s`;
        // Stopped a little before the limit, so that the file's length stays within it.
        if (s >= max - LIMIT_SLACK_S) recordStop();
      };
      tick();
      current.timer = window.setInterval(tick, 250);
      recordingShown(true);
      hooks.ok();
      hooks.announce(`Recording your ${kind === "video" ? "video" : "voice"}. Press “Stop recording” when you are done.`);
      ui.recordStop.focus();
    }

    function recordStop() {
      if (rec && rec.recorder.state !== "inactive") rec.recorder.stop();
    }

    async function recordFinish(current) {
      window.clearInterval(current.timer);
      for (const track of current.stream.getTracks()) track.stop();
      ui.live.srcObject = null;
      rec = null;
      recordingShown(false);
      ui.recordStatus.textContent = "";
      const type = (current.recorder.mimeType || (current.kind === "video" ? "video/webm" : "audio/webm")).split(";")[0];
      const size = current.chunks.reduce((n, c) => n + c.size, 0);
      if (!size) {
        hooks.error("Nothing was recorded. Check that your microphone works, then try again.");
        return;
      }
      const ext = type.endsWith("mp4") ? (current.kind === "video" ? "mp4" : "m4a") : type.endsWith("ogg") ? "ogg" : "webm";
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
      const file = new File(current.chunks, `recording-${stamp}.${ext}`, { type });
      if (await accept(file, current.kind)) ui.remove.focus();
    }

    if (canRecord) {
      ui.recorder.hidden = false;
      ui.recordAudio.addEventListener("click", () => recordStart("audio"));
      ui.recordVideo.addEventListener("click", () => recordStart("video"));
      ui.recordStop.addEventListener("click", recordStop);
      // The camera button only where there is a camera (devices are listed, unnamed, before any permission).
      if (navigator.mediaDevices.enumerateDevices) {
        navigator.mediaDevices.enumerateDevices().then((devices) => {
          if (devices.some((d) => d.kind === "videoinput")) {
            ui.recordVideo.dataset.available = "1";
            recordingShown(!!rec);
          }
        }).catch(() => {});
      }
    }

    return {
      kindOf,
      accept,
      imageAdded,
      framesProblem,
      appendTo,
      take,
      clear: () => { recordStop(); set(null, true); },
      recording: () => !!rec,
    };
  }

  // ------------------------------------------------------------------ the battle's media
  const SVG = "http://www.w3.org/2000/svg";

  function display() {
    const ui = {
      root: byId("battle-media"),
      videoFigure: byId("battle-video"),
      video: byId("battle-video").querySelector("video"),
      strip: byId("frame-strip"),
      stripLabel: byId("frame-strip-label"),
      audioFigure: byId("battle-audio"),
      audio: byId("battle-audio").querySelector("audio"),
      wave: byId("waveform"),
      bars: byId("waveform").querySelector(".waveform__bars"),
      played: byId("waveform").querySelector(".waveform__played"),
    };
    let stripKey = "";
    let waveKey = "";

    function source(el, url) {
      if (url && el.getAttribute("src") !== url) el.src = url;
      if (!url && el.hasAttribute("src")) { el.removeAttribute("src"); el.load(); }
    }

    function stripShow(frames) {
      const key = frames.map((f) => f.url).join(" ");
      if (key === stripKey) return;
      stripKey = key;
      ui.strip.replaceChildren();
      frames.forEach((frame, i) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "frame-strip__frame";
        const at = Number(frame.timestamp) || 0;
        button.setAttribute("aria-label", `Frame ${i + 1} of ${frames.length}, at ${fmtLength(at)}: play from there`);
        const img = document.createElement("img");
        img.src = frame.url;
        img.alt = "";
        img.loading = "lazy";
        img.decoding = "async";
        const time = document.createElement("span");
        time.className = "frame-strip__time";
        time.textContent = fmtLength(at);
        button.append(img, time);
        button.addEventListener("click", () => {
          ui.video.currentTime = at;
          ui.video.play().catch(() => {});
        });
        li.append(button);
        ui.strip.append(li);
      });
      ui.stripLabel.textContent = frames.length
        ? `What both models saw: ${frames.length} frame${frames.length === 1 ? "" : "s"}, taken evenly across the video`
        : "The frames both models see are being prepared…";
    }

    function waveShow(peaks) {
      const key = peaks.join(",");
      if (key === waveKey) return;
      waveKey = key;
      ui.bars.replaceChildren();
      const n = peaks.length;
      ui.wave.hidden = !n;
      if (!n) return;
      ui.wave.setAttribute("viewBox", `0 0 ${n} 100`);
      peaks.forEach((p, i) => {
        const h = Math.max(2, Math.min(1, Math.max(0, Number(p) || 0)) * 100);
        const bar = document.createElementNS(SVG, "rect");
        bar.setAttribute("x", String(i + 0.15));
        bar.setAttribute("width", "0.7");
        bar.setAttribute("y", String((100 - h) / 2));
        bar.setAttribute("height", String(h));
        ui.bars.append(bar);
      });
      ui.played.setAttribute("height", "100");
    }

    function playheadMove() {
      const d = ui.audio.duration;
      const n = ui.bars.childElementCount;
      const share = Number.isFinite(d) && d > 0 ? Math.min(1, ui.audio.currentTime / d) : 0;
      ui.played.setAttribute("width", String(share * n));
    }
    ui.audio.addEventListener("timeupdate", playheadMove);
    ui.audio.addEventListener("seeked", playheadMove);
    ui.wave.addEventListener("click", (e) => {
      const d = ui.audio.duration;
      const box = ui.wave.getBoundingClientRect();
      if (!Number.isFinite(d) || !box.width) return;
      ui.audio.currentTime = Math.max(0, Math.min(1, (e.clientX - box.left) / box.width)) * d;
    });

    /** media: { videoUrl, frames: [{url, timestamp}], audioUrl, peaks: [0..1], local: {kind, url} | null } */
    function show(media) {
      const m = media || {};
      const local = m.local || null;
      const videoUrl = (local && local.kind === "video" && local.url) || m.videoUrl || "";
      const audioUrl = (local && local.kind === "audio" && local.url) || m.audioUrl || "";
      source(ui.video, videoUrl);
      source(ui.audio, audioUrl);
      ui.videoFigure.hidden = !videoUrl;
      ui.audioFigure.hidden = !audioUrl;
      ui.root.hidden = !videoUrl && !audioUrl;
      stripShow(videoUrl ? m.frames || [] : []);
      waveShow(audioUrl ? m.peaks || [] : []);
      if (!audioUrl) ui.played.setAttribute("width", "0");
    }

    return { show, clear: () => show(null) };
  }

  window.ArenaMedia = { composer, display, kindOf };
})();
