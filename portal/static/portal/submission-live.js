/* A submission's page follows its status live: each "status" message from /ws/submissions/<id>/
   (and the one sent on every (re)connect) brings the changing part of the page again when the status
   it shows is not the one announced. The HTML comes from the server's own template (?part=live).
   A "progress" message (the evaluating run's prompts done) moves the progress bar in place. */
(() => {
  "use strict";

  const root = document.getElementById("submission-live");
  if (!root || !window.ArenaSocket) return;
  const id = root.dataset.submission;
  let fetching = null;

  const shown = () => {
    const status = root.querySelector("[data-status]");
    return status ? status.dataset.status : "";
  };

  function refresh() {
    if (fetching) return fetching;
    const url = `${location.pathname}?part=live`;
    fetching = fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(new Error(String(response.status)))))
      .then((html) => { root.innerHTML = html; })
      .catch(() => {})
      .finally(() => { fetching = null; });
    return fetching;
  }

  function progress(message) {
    const bar = root.querySelector("[data-progress] progress");
    const text = root.querySelector("[data-progress-text]");
    if (!bar || !text) return;
    bar.max = Math.max(1, message.total);
    bar.value = message.done;
    const left = message.eta_s ? `, about ${Math.round(message.eta_s)} s left` : "";
    text.textContent = `${message.done} of ${message.total} prompts answered${left}`;
  }

  window.ArenaSocket.open(`/ws/submissions/${id}/`, {
    onmessage(message) {
      if (message.type === "status" && message.status !== shown()) refresh();
      else if (message.type === "progress") progress(message);
    },
  });
})();
