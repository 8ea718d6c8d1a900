// The review queue's keyboard: J/K move, X selects, A approves, R asks for a
// reason to reject. The forms work without it; this only drives them.
(function () {
  "use strict";
  var current = 0;

  function queue() { return document.querySelector("[data-review-queue]"); }
  function items() { return Array.from(document.querySelectorAll("[data-review-item]")); }
  function selected() { return Array.from(document.querySelectorAll("[data-review-select]:checked")); }

  function focusItem(index, scroll) {
    var all = items();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (item, i) { item.classList.toggle("is-current", i === current); });
    all[current].focus({ preventScroll: true });
    if (scroll !== false) all[current].scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function updateCount() {
    var count = selected().length;
    var label = document.querySelector("[data-selected-count]");
    if (label) label.textContent = count ? count + " selected" : "None selected";
    document.querySelectorAll("[data-review-item]").forEach(function (item) {
      var box = item.querySelector("[data-review-select]");
      item.classList.toggle("is-selected", !!(box && box.checked));
    });
  }

  function openReject(details) {
    if (!details) return;
    details.open = true;
    var input = details.querySelector("input[name=reason]");
    if (input) input.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (!queue() || event.altKey || event.ctrlKey || event.metaKey) return;
    var target = event.target;
    if (target.closest && target.closest("input[type=text], textarea, select")) {
      if (event.key === "Escape") {
        var details = target.closest("details");
        if (details) { details.open = false; event.preventDefault(); focusItem(current); }
      }
      return;
    }
    var all = items();
    var item = all[current];
    var key = event.key.toLowerCase();
    if (key === "j") focusItem(current + 1);
    else if (key === "k") focusItem(current - 1);
    else if (key === "x" && item) {
      var box = item.querySelector("[data-review-select]");
      box.checked = !box.checked;
      updateCount();
    } else if (key === "a") {
      var button = selected().length ? document.querySelector("[data-approve-selected]")
        : item && item.querySelector("[data-approve]");
      if (button) button.click();
    } else if (key === "r") {
      openReject(selected().length ? document.querySelector("#bulk-form [data-reject]")
        : item && item.querySelector("[data-reject]"));
    } else return;
    event.preventDefault();
  });

  // Clicking or tabbing into an item makes it the current one.
  document.addEventListener("focusin", function (event) {
    var item = event.target.closest && event.target.closest("[data-review-item]");
    if (!item) return;
    var index = items().indexOf(item);
    if (index >= 0 && index !== current) {
      current = index;
      items().forEach(function (el, i) { el.classList.toggle("is-current", i === current); });
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-review-select]")) updateCount();
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-select-all]")) return;
    var boxes = Array.from(document.querySelectorAll("[data-review-select]"));
    var check = boxes.some(function (box) { return !box.checked; });
    boxes.forEach(function (box) { box.checked = check; });
    updateCount();
  });

  // After a decision the queue is re-rendered: keep the place, or show the error.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (!event.target.closest || !event.target.closest("#review-queue")) return;
    updateCount();
    var invalid = document.querySelector("#review-queue [aria-invalid=true]");
    focusItem(current, !invalid);
    if (invalid) invalid.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (queue()) { focusItem(0, false); updateCount(); }
  });
})();
