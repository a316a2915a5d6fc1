// The sell and shift screens; every form works without this file.
//  * the scan field stays ready: after a tap on a button or on nothing, the focus goes back to it, so the
//    next scan (digits + Enter from a barcode scanner) lands there;
//  * a form is sent once: a second tap while the first is on its way does nothing;
//  * the tender screen makes a fresh idempotency key per checkout attempt (the server's copy is the fallback);
//  * the approval dialog's PIN pad types into the PIN field;
//  * the closing count adds up the drawer as it is typed and shows the variance against the expected cash.
(function () {
  "use strict";

  var scan = document.querySelector("[data-scan-field]");
  var dialogOpen = function () { return !!document.querySelector("[data-approval-form]"); };

  function isField(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function ready() {
    if (scan && !dialogOpen() && !isField(document.activeElement)) scan.focus({ preventScroll: true });
  }

  if (scan) {
    if (!dialogOpen() && document.activeElement !== scan) scan.focus({ preventScroll: true });
    // a search shown below: the next scan replaces it — but only while the field holds what the page came
    // with, so a scan that began before this deferred script ran keeps its first digits
    if (scan.value && scan.value === scan.defaultValue && document.activeElement === scan) scan.select();
    document.addEventListener("click", function (event) {
      if (isField(event.target) || event.target.closest("label, details > summary, a[href]")) return;
      window.setTimeout(ready, 0);
    });
    window.addEventListener("focus", ready);
  }

  // (on the document: the regions a scan swaps bring new forms)
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-once-form]");
    if (!form) return;
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    form.setAttribute("aria-busy", "true");
    // after this submission has taken its values (a disabled button would drop its own name=value)
    window.setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // A scan is posted in the background and the cart's regions are swapped in place: the field stays focused and
  // empty, so the next scan (even one that starts while this one is on its way) loses no digit.  Scans queue up
  // and go one after the other.  Anything unexpected falls back to the plain form post.
  var scanForm = document.querySelector("form[data-scan-form]");
  var queue = [], busy = false;
  function sendNext() {
    if (busy || !queue.length) return;
    busy = true;
    var data = queue.shift();
    scanForm.setAttribute("aria-busy", "true");
    fetch(scanForm.action, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("text/html") !== 0) throw new Error("not a page");
        return response.text().then(function (html) { return { url: response.url, html: html }; });
      })
      .then(function (answer) {
        var next = new DOMParser().parseFromString(answer.html, "text/html");
        var regions = next.querySelectorAll("[data-sell-region]");
        if (!regions.length || next.querySelector("[data-approval-form]")) throw new Error("another page");
        regions.forEach(function (region) {
          var here = document.getElementById(region.id);
          if (here) here.replaceWith(document.adoptNode(region));
        });
        var query = next.querySelector("[data-scan-field]");
        if (query && query.value && !scan.value && !queue.length) {
          scan.value = query.value; // a search: the text stays, selected, so the next scan replaces it
          scan.select();
        }
        if (answer.url && answer.url !== window.location.href) window.history.replaceState(null, "", answer.url);
        document.title = next.title;
        busy = false;
        scanForm.removeAttribute("aria-busy");
        ready();
        sendNext();
      })
      .catch(function () {
        window.location.reload();
      });
  }
  if (scanForm && scan && window.fetch && window.DOMParser) {
    scanForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!scan.value.trim()) return;
      var data = new FormData(scanForm);
      scan.value = "";
      queue.push(data);
      sendNext();
    });
  }
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-once-form]").forEach(function (form) {
      form.dataset.sent = "";
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    });
  });

  // one checkout attempt per drawing of the tender screen: both cash forms share its key, so a tap on
  // "Exact" and then on "Take cash" is still one sale
  var attempts = document.querySelectorAll("[data-attempt]");
  if (attempts.length && window.crypto && window.crypto.randomUUID) {
    var key = "web-" + window.crypto.randomUUID();
    attempts.forEach(function (input) { input.value = key; });
  }

  var pin = document.querySelector("[data-pin-field]");
  var pad = document.querySelector("[data-pin-pad]");
  if (pin && pad) {
    pad.hidden = false;
    pad.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.hasAttribute("data-pin-key")) {
        if (pin.value.length < 8) pin.value += button.getAttribute("data-pin-key");
      } else if (button.hasAttribute("data-pin-back")) {
        pin.value = pin.value.slice(0, -1);
      } else if (button.hasAttribute("data-pin-clear")) {
        pin.value = "";
      }
      pin.focus({ preventScroll: true });
    });
  }

  var count = document.querySelector("[data-count-form]");
  if (count) {
    var currency = count.getAttribute("data-currency");
    var expected = parseInt(count.getAttribute("data-expected"), 10);
    var exponent = currency === "JPY" ? 0 : 2;
    var format = function (minor) {
      try {
        return new Intl.NumberFormat("en-GB", { style: "currency", currency: currency }).format(minor / Math.pow(10, exponent));
      } catch (e) {
        return (minor / Math.pow(10, exponent)).toFixed(exponent) + " " + currency;
      }
    };
    var counted = count.querySelector("[data-counted]");
    var variance = count.querySelector("[data-variance]");
    var update = function () {
      var total = 0, any = false;
      count.querySelectorAll("[data-denomination]").forEach(function (input) {
        var n = parseInt(input.value, 10);
        if (!isNaN(n) && n >= 0) {
          total += n * parseInt(input.getAttribute("data-denomination"), 10);
          any = true;
        }
      });
      counted.textContent = any ? format(total) : "—";
      variance.textContent = any ? (total - expected > 0 ? "+" : "") + format(total - expected) : "—";
      variance.className = any && total !== expected ? "count-off" : "";
    };
    count.addEventListener("input", update);
    update();
  }
})();
