/* The first-visit data notice: its button hides it on every page from now on (remembered in
   localStorage; notice-seen.js hides it before the next page's first paint). */
(() => {
  "use strict";

  const notice = document.querySelector("[data-notice]");
  const button = notice && notice.querySelector("[data-notice-accept]");
  if (!button) return;
  button.addEventListener("click", () => {
    try {
      window.localStorage.setItem("arena-data-notice", "accepted");
    } catch (error) {
      // Not remembered where storage is blocked; closed on this page all the same.
    }
    document.documentElement.setAttribute("data-notice-accepted", "");
    // The focused button is gone: carry on from the page's content, not from the top of the document.
    const content = document.getElementById("content");
    if (content) content.focus({ preventScroll: true });
  });
})();
