// Product pictures that fail to load (missing file, offline CDN) become a neutral placeholder
// instead of a broken-image icon.  Shared by the tablet and the kiosk.
(function () {
  "use strict";
  function showPlaceholder(img) {
    var frame = img.closest(".img-frame");
    if (!frame) return;
    frame.classList.add("is-missing");
    img.hidden = true;
  }
  document.addEventListener("error", function (event) {
    if (event.target && event.target.tagName === "IMG") showPlaceholder(event.target);
  }, true);
  function check(root) {
    (root || document).querySelectorAll(".img-frame img").forEach(function (img) {
      if (img.complete && typeof img.decode === "function") img.decode().catch(function () { showPlaceholder(img); });
    });
  }
  window.Shelfside = window.Shelfside || {};
  window.Shelfside.checkImages = check;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { check(); });
  else check();
})();
