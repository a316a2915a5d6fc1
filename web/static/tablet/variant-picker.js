// Instant variant switching on a product page (tablet and kiosk).
//
// The server renders every variant's price and stock panel (only the selected one visible) and
// each option button as a link to "?sku=<variant>", so the page works without JavaScript.  Here a
// tap shows the matching panel, updates the buttons (which variant each leads to, its stock hint)
// and the address bar, without a round trip.  Variant data comes from
// <script type="application/json" data-variants>{"variants": [{sku, options, stock, hint}]}</script>.
(function () {
  "use strict";

  function init(root) {
    var source = document.querySelector("script[data-variants]");
    if (!source) return;
    var variants = JSON.parse(source.textContent).variants;
    var bySku = {};
    variants.forEach(function (v) { bySku[v.sku] = v; });
    var current = bySku[root.getAttribute("data-selected")] || variants[0];
    if (!current) return;

    // Same rule as web.tablet.pick_variant: the exact combination, else the variant with that
    // value sharing most of the other options, the first one on a tie.
    function pick(name, value) {
      var best = null, bestScore = -1;
      variants.forEach(function (v) {
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

    function show(variant) {
      current = variant;
      root.setAttribute("data-selected", variant.sku);
      document.querySelectorAll("[data-variant-panel]").forEach(function (panel) {
        panel.hidden = panel.getAttribute("data-sku") !== variant.sku;
      });
      root.querySelectorAll("[data-option-button]").forEach(function (button) {
        var name = button.getAttribute("data-option");
        var value = button.getAttribute("data-value");
        var selected = variant.options[name] === value;
        var target = selected ? variant : pick(name, value);
        button.setAttribute("href", hrefFor(target.sku));
        button.setAttribute("data-stock", target.stock);
        if (selected) button.setAttribute("aria-current", "true");
        else button.removeAttribute("aria-current");
        var hint = button.querySelector("[data-hint]");
        if (hint) hint.textContent = target.hint;
      });
      if (window.history && window.history.replaceState) window.history.replaceState(null, "", hrefFor(variant.sku));
    }

    root.addEventListener("click", function (event) {
      var button = event.target.closest("[data-option-button]");
      if (!button || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      show(pick(button.getAttribute("data-option"), button.getAttribute("data-value")));
    });
  }

  document.querySelectorAll("[data-variant-picker]").forEach(init);
})();
