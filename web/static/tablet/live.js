// Live updates on the tablet.  The layout's <body hx-ext="sse" sse-connect="/tablet/live"> keeps
// a Server-Sent Events connection to this store's channel (htmx-ext-sse reconnects it), and a
// hidden element with hx-trigger="sse:stock.changed" turns each message into htmx:sseMessage.
// On a product page whose SKUs include the changed one: a toast says so and the variant area
// (option buttons and stock panels) is fetched again through htmx and swapped in place.
(function () {
  "use strict";

  var TOAST_MS = 6000;
  var REFRESH_DELAY_MS = 150;
  var refreshTimer = null;

  function toast(text) {
    var region = document.querySelector("[data-toasts]");
    if (!region || !text) return;
    var item = document.createElement("p");
    item.className = "toast";
    item.setAttribute("data-testid", "toast");
    item.textContent = text;
    region.appendChild(item);
    while (region.children.length > 3) region.removeChild(region.firstChild);
    window.setTimeout(function () { item.remove(); }, TOAST_MS);
  }

  function onStockChanged(data) {
    var area = document.getElementById("variant-area");
    if (!area) return;
    var skus = (area.getAttribute("data-live-skus") || "").split(" ");
    if (skus.indexOf(data.sku) < 0) return;
    toast(data.text);
    // several changes in a row (a multi-line order) refresh once; the address bar holds the
    // selected variant (?sku=…), so the fresh area keeps it selected
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(function () {
      window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#variant-area", swap: "outerHTML" });
    }, REFRESH_DELAY_MS);
  }

  // body[data-live] tells whether the stream is open ("open") or being re-established ("waiting")
  document.addEventListener("htmx:sseOpen", function () { document.body.setAttribute("data-live", "open"); });
  document.addEventListener("htmx:sseError", function () { document.body.setAttribute("data-live", "waiting"); });

  document.addEventListener("htmx:sseMessage", function (event) {
    var message = event.detail;
    if (!message || message.type !== "stock.changed" || !window.htmx) return;
    var data;
    try { data = JSON.parse(message.data); } catch (error) { return; }
    onStockChanged(data);
  });
})();
