// Appointments on the tablet, live.  The layout's hidden listeners turn two Server-Sent Events into
// htmx:sseMessage (web/tablet/appointments.py routes them):
// * appointment.checked_in — on the associate's own channel: a banner on whatever page is open,
//   with a link to the prep view;
// * appointment.status — on the store's channel: the day's list (#appointment-list) and an open
//   prep view of that appointment refresh in place.
(function () {
  "use strict";

  var BANNER_MS = 20000;
  var seen = {};

  function banner(data) {
    var region = document.querySelector("[data-toasts]");
    if (!region || seen[data.id]) return;
    seen[data.id] = true;
    var item = document.createElement("p");
    item.className = "toast toast-checkin";
    item.setAttribute("data-testid", "checkin-banner");
    item.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent = data.text;
    item.appendChild(text);
    if (data.url) {
      var link = document.createElement("a");
      link.href = data.url;
      link.textContent = "Open";
      item.appendChild(link);
    }
    region.appendChild(item);
    while (region.children.length > 3) region.removeChild(region.firstChild);
    window.setTimeout(function () { item.remove(); }, BANNER_MS);
  }

  function refresh(data) {
    var list = document.getElementById("appointment-list");
    if (list && window.htmx) {
      window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#appointment-list", swap: "outerHTML" });
    }
    var header = document.querySelector(".prep-head[data-appointment='" + data.id + "']");
    if (header) {
      var status = header.querySelector("[data-testid=appointment-status]");
      if (status && data.status === "checked_in") status.textContent = "Checked in";
    }
  }

  document.addEventListener("htmx:sseMessage", function (event) {
    var message = event.detail;
    if (!message || (message.type !== "appointment.checked_in" && message.type !== "appointment.status")) return;
    var data;
    try { data = JSON.parse(message.data); } catch (error) { return; }
    if (message.type === "appointment.checked_in") banner(data);
    else refresh(data);
  });
})();
