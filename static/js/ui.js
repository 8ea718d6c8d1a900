// What every page shares: toasts, the phone menu, tiles at their images'
// own aspect ratio, relative times that stay current. Loaded before
// studio.js and gallery.js, which use StudioUI.toast.
(function () {
  "use strict";

  // Toasts: the server says what happened through HX-Trigger events.
  function toast(message, isError) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "toast" + (isError ? " toast--error" : "");
    item.textContent = message;
    box.append(item);
    setTimeout(function () { item.remove(); }, isError ? 8000 : 4000);
  }
  window.StudioUI = { toast: toast };

  // An element swapped out while its request was in flight (a poller replaced by
  // another answer's out-of-band copy, a viewer that moved to the next image)
  // must not swap that request's answer: htmx would look for the answer's
  // out-of-band targets inside the detached element, find none, and report
  // htmx:oobErrorNoTarget. Its replacement asks again, so nothing is lost.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    event.target.addEventListener("htmx:beforeSwap", function (swap) {
      if (!swap.target.isConnected) swap.detail.shouldSwap = false;
    });
  });

  // Tiles and placeholders carry their ratio in data-ar; the CSP forbids
  // inline styles, so it becomes a custom property through the CSSOM.
  function applyRatios(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-ar]").forEach(function (el) {
      el.style.setProperty("--ar", el.dataset.ar);
    });
    if (root.dataset && root.dataset.ar) root.style.setProperty("--ar", root.dataset.ar);
  }

  // "2 minutes ago", kept current without a reload.
  function relative(date) {
    var seconds = Math.round((Date.now() - date.getTime()) / 1000);
    if (seconds < 45) return "just now";
    var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
                 ["hour", 3600], ["minute", 60]];
    for (var i = 0; i < units.length; i++) {
      var n = Math.floor(seconds / units[i][1]);
      if (n >= 1) return n + " " + units[i][0] + (n === 1 ? "" : "s") + " ago";
    }
    return "just now";
  }
  function refreshTimes(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) el.textContent = relative(date);
    });
  }
  setInterval(refreshTimes, 30000);

  // "next try in 8 s", counting down.
  setInterval(function () {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Math.round((new Date(el.getAttribute("datetime")).getTime() - Date.now()) / 1000);
      el.textContent = isNaN(left) ? "soon" : left > 0 ? "in " + left + " s" : "now";
    });
  }, 1000);

  // The phone menu and the gallery's Filters button: a button that opens a panel.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-menu-toggle], [data-filters-toggle]");
    if (!toggle) return;
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    var panel = document.getElementById(toggle.getAttribute("aria-controls"));
    if (panel) panel.classList.toggle("is-open", open);
  });

  // "Filters (2)": how many filters are set, kept in step with the form.
  function countFilters() {
    var form = document.getElementById("gallery-filters");
    var count = document.querySelector("[data-filters-count]");
    if (!form || !count) return;
    var n = Array.from(form.elements).filter(function (el) {
      if (!el.name || el.type === "hidden" || el.tagName === "BUTTON") return false;
      return el.type === "checkbox" ? el.checked : !!el.value;
    }).length;
    count.textContent = n ? " (" + n + ")" : "";
  }
  document.addEventListener("change", countFilters);
  document.addEventListener("input", countFilters);

  document.addEventListener("DOMContentLoaded", function () {
    applyRatios(document);
    refreshTimes();
    countFilters();
  });
  document.addEventListener("htmx:load", function (event) {
    applyRatios(event.detail.elt);
    refreshTimes(event.detail.elt.parentNode || document);
  });
})();
