// The tablet's waiting screen of a card or QR payment (templates/tablet/sell/payment.html): when the payment ends
// — paid, declined, given up — the page loads again and the server sends it on (the receipt, or the tender screen).
// The news comes on the live stream (payment.updated, see static/tablet/live.js); a short poll of the payment's
// status is the fallback when the stream is not open (a reconnect, the stream limit).
(function () {
  "use strict";

  var POLL_MS = 2000;
  var root = document.querySelector("[data-payment-id]");
  if (!root) return;
  var paymentId = root.getAttribute("data-payment-id");
  var statusUrl = root.getAttribute("data-status-url");
  var moving = false;

  function moveOn() {
    if (moving) return;
    moving = true;
    window.location.reload();
  }

  document.addEventListener("htmx:sseMessage", function (event) {
    var message = event.detail;
    if (!message || message.type !== "payment.updated") return;
    var data;
    try { data = JSON.parse(message.data); } catch (error) { return; }
    if (data.id === paymentId && data.status !== "pending") moveOn();
  });

  function poll() {
    if (moving) return;
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && data.status !== "pending") moveOn(); })
      .catch(function () {})
      .then(function () { if (!moving) window.setTimeout(poll, POLL_MS); });
  }
  window.setTimeout(poll, POLL_MS);
})();
