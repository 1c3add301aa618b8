/* Running benchmark runs follow their progress: each element with data-run-progress="<run id>" opens
   /ws/evaluations/<id>/; each "progress" message (and the one sent on every (re)connect) moves its bar,
   and once the run has ended the page loads again, with the run's scores or its final status. */
(() => {
  "use strict";

  if (!window.ArenaSocket) return;
  const ended = new Set(["finished", "failed", "cancelled"]);

  for (const root of document.querySelectorAll("[data-run-progress]")) {
    const bar = root.querySelector("progress");
    const text = root.querySelector("[data-progress-text]");
    window.ArenaSocket.open(`/ws/evaluations/${root.dataset.runProgress}/`, {
      onmessage(message) {
        if (message.type !== "progress") return;
        if (ended.has(message.status)) {
          location.reload();
          return;
        }
        bar.max = Math.max(1, message.total);
        bar.value = message.done;
        const left = message.eta_s ? `, about ${Math.round(message.eta_s)} s left` : "";
        text.textContent = `${message.done} of ${message.total} prompts answered${left}`;
      },
    });
  }
})();
