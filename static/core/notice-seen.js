/* Runs in <head>, before the first paint: once the data notice was accepted, the page is marked so that
   the stylesheet never shows the notice (no flash, nothing moves). */
try {
  if (window.localStorage.getItem("arena-data-notice") === "accepted") {
    document.documentElement.setAttribute("data-notice-accepted", "");
  }
} catch (error) {
  // Storage blocked (a private window's setting): the notice shows, and the button still closes it.
}
