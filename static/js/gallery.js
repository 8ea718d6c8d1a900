// Teams and gallery: the small things htmx does not do. Copy a link, confirm a
// plain form, keep favourite stars in step, keep the filter form in step with
// the URL after the back button, and close open menus on an outside click.
// Delegated from the document, so they work after every htmx swap.
(function () {
  "use strict";

  var toast = function (m, e) { window.StudioUI.toast(m, e); };

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-text]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copyText);
    if (!source) return;
    var text = source.textContent.trim();
    if (!navigator.clipboard) { toast("Select the link and copy it.", true); return; }
    navigator.clipboard.writeText(text).then(
      function () { toast("Link copied."); },
      function () { toast("Copying is not allowed here; select the link instead.", true); });
  });

  // Plain (non-htmx) forms that deserve a second thought.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // One image can have two stars on screen (its tile, and the viewer over it).
  document.body.addEventListener("gallery:favourite", function (event) {
    var on = !!event.detail.on;
    document.querySelectorAll('[data-favourite-for="' + event.detail.id + '"]').forEach(function (button) {
      button.classList.toggle("favourite--on", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.title = on ? "Remove from your favourites" : "Add to your favourites";
    });
  });

  // After the back button, htmx restores the page as it was rendered; the
  // filter controls are then set from the URL they belong to.
  function syncFilters() {
    var form = document.getElementById("gallery-filters");
    if (!form) return;
    var params = new URLSearchParams(window.location.search);
    Array.from(form.elements).forEach(function (el) {
      if (!el.name) return;
      if (el.type === "checkbox") el.checked = params.getAll(el.name).indexOf(el.value || "on") >= 0;
      else if (el.tagName !== "BUTTON") el.value = params.get(el.name) || "";
    });
  }
  document.body.addEventListener("htmx:historyRestore", syncFilters);
  window.addEventListener("pageshow", syncFilters);

  // Menus made of <details>: one open at a time, closed by a click elsewhere or Escape.
  function openMenus() {
    return document.querySelectorAll("details.tile__menu[open], details[data-team-switcher][open]");
  }
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      if (menu.contains(document.activeElement) || menu.open) {
        menu.removeAttribute("open");
        var summary = menu.querySelector("summary");
        if (summary && menu.contains(document.activeElement)) summary.focus();
      }
    });
  });
})();
