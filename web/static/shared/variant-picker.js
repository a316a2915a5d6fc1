// Instant variant switching on a product page (tablet and kiosk).
//
// The server renders every variant's price and stock panel (only the selected one visible) and
// each option button as a link to "?sku=<variant>", so the page works without JavaScript.  Here a
// tap shows the matching panel, updates the buttons (which variant each leads to, its stock hint),
// brings the variant's own picture to the front of the gallery and updates the address bar,
// without a round trip.  Variant data comes from
// the data-variants attribute ({"variants": [{sku, options, stock, hint, image}]}), read again on
// every tap: on the tablet a live stock update swaps it (with the buttons) in place.
(function () {
  "use strict";

  var root = document.querySelector("[data-variant-picker]");
  if (!root) return;

  function variants() {
    var source = document.querySelector("[data-variants]");
    return source ? JSON.parse(source.getAttribute("data-variants")).variants : [];
  }

  function bySku(list, sku) {
    for (var i = 0; i < list.length; i += 1) if (list[i].sku === sku) return list[i];
    return list[0];
  }

  // Same rule as web.viewmodels.pick_variant: the exact combination, else the variant with that
  // value sharing most of the other options, the first one on a tie.
  function pick(list, current, name, value) {
    var best = null, bestScore = -1;
    list.forEach(function (v) {
      if (v.options[name] !== value) return;
      var score = 0;
      Object.keys(current.options).forEach(function (key) {
        if (key !== name && v.options[key] === current.options[key]) score += 1;
      });
      if (score > bestScore) { best = v; bestScore = score; }
    });
    return best || current;
  }

  function hrefFor(sku) {
    var url = new URL(window.location.href);
    url.searchParams.set("sku", sku);
    return url.pathname + url.search;
  }

  // The variant's picture first, the others in the product's order (as the server renders them).
  function showPicture(variant) {
    var gallery = document.querySelector("[data-gallery]");
    if (!gallery || variant.image === null || variant.image === undefined) return;
    var items = Array.prototype.slice.call(gallery.querySelectorAll("[data-image-index]"));
    items.sort(function (a, b) {
      var ia = Number(a.getAttribute("data-image-index")), ib = Number(b.getAttribute("data-image-index"));
      return (ia !== variant.image) - (ib !== variant.image) || ia - ib;
    });
    items.forEach(function (item) { gallery.appendChild(item); });
    var main = items[0] && items[0].querySelector("img");
    if (main) main.removeAttribute("loading");
    gallery.scrollLeft = 0;
  }

  function show(list, variant) {
    root.setAttribute("data-selected", variant.sku);
    document.querySelectorAll("[data-variant-panel]").forEach(function (panel) {
      panel.hidden = panel.getAttribute("data-sku") !== variant.sku;
    });
    root.querySelectorAll("[data-option-button]").forEach(function (button) {
      var name = button.getAttribute("data-option");
      var value = button.getAttribute("data-value");
      var selected = variant.options[name] === value;
      var target = selected ? variant : pick(list, variant, name, value);
      button.setAttribute("href", hrefFor(target.sku));
      button.setAttribute("data-stock", target.stock);
      if (selected) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
      var hint = button.querySelector("[data-hint]");
      if (hint) hint.textContent = target.hint;
    });
    showPicture(variant);
    if (window.history && window.history.replaceState) window.history.replaceState(null, "", hrefFor(variant.sku));
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-option-button]");
    if (!button || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    var list = variants();
    if (!list.length) return;
    var current = bySku(list, root.getAttribute("data-selected"));
    show(list, pick(list, current, button.getAttribute("data-option"), button.getAttribute("data-value")));
  });
})();
