// Kiosk: after two minutes without a touch, go back to the start page so the next customer
// finds a clean screen (and the last one's search isn't left on display).
(function () {
  "use strict";
  var IDLE_MS = 120000;
  var home = document.querySelector("[data-kiosk-home]");
  if (!home) return;
  var timer = null;
  function reset() {
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var target = home.getAttribute("href");
      if (window.location.pathname !== target || window.location.search) window.location.href = target;
    }, IDLE_MS);
  }
  ["pointerdown", "keydown", "scroll", "touchstart"].forEach(function (name) {
    window.addEventListener(name, reset, { passive: true });
  });
  reset();
})();
