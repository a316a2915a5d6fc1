// Tablet conveniences; every page works without this file.
//  * the search field selects its text on load, so the next scan replaces the last query;
//  * a barcode scanner (or typing) with nothing focused goes into the search field;
//  * "More results" appends the next page in place instead of leaving the list;
//  * the store menu closes when tapping elsewhere.
(function () {
  "use strict";

  // Only while the field still holds the query the page came with: a scan that began before
  // this script ran (it is deferred) must not have its first digits selected and overwritten.
  var hero = document.querySelector("[data-select-on-load]");
  if (hero && hero.value && hero.value === hero.defaultValue) {
    hero.focus();
    hero.select();
  }

  function isTypingTarget(el) {
    if (!el || el === document.body) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1 || event.key === " ") return;
    if (isTypingTarget(document.activeElement)) return;
    var field = document.querySelector("[data-scan-target]");
    if (field) {
      field.value = "";
      field.focus(); // the key itself lands in the field
    }
  });

  document.addEventListener("click", function (event) {
    var more = event.target.closest("a[data-more]");
    if (!more || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    var href = more.getAttribute("href");
    more.setAttribute("aria-busy", "true");
    more.textContent = "Loading…";
    fetch(href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var grid = document.querySelector("[data-results]");
        page.querySelectorAll("[data-results] > li").forEach(function (item) {
          grid.appendChild(document.adoptNode(item));
        });
        var next = page.querySelector("a[data-more]");
        if (next) {
          more.setAttribute("href", next.getAttribute("href"));
          more.textContent = "More results";
          more.removeAttribute("aria-busy");
        } else {
          more.closest(".more").remove();
        }
        if (window.Shelfside && window.Shelfside.checkImages) window.Shelfside.checkImages(grid);
      })
      .catch(function () { window.location.href = href; });
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.store-switch[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
})();
