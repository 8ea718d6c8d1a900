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

// The gallery's selection: click a tile's box, shift-click for a range, or
// select all in view; then zip, add to a collection, compare or delete.
(function () {
  "use strict";
  var last = null;
  function boxes() { return Array.from(document.querySelectorAll("input.tile__select")); }
  function update() {
    var bar = document.querySelector("[data-selection]");
    if (!bar) return;
    var chosen = boxes().filter(function (b) { return b.checked; });
    bar.hidden = chosen.length === 0;
    bar.querySelector("[data-selection-count]").textContent =
      chosen.length + (chosen.length === 1 ? " image selected" : " images selected");
    var compare = bar.querySelector("[data-compare]");
    if (compare) compare.disabled = chosen.length < 2 || chosen.length > 4;
    document.querySelectorAll(".tile, #gallery-grid .thumb").forEach(function (tile) {
      var box = tile.querySelector("input.tile__select");
      tile.classList.toggle("tile--selected", !!(box && box.checked));
    });
  }
  document.addEventListener("click", function (event) {
    var box = event.target.matches && event.target.matches("input.tile__select") ? event.target : null;
    if (box) {
      var all = boxes();
      if (event.shiftKey && last && last.isConnected) {
        var a = all.indexOf(last), b = all.indexOf(box);
        all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { x.checked = box.checked; });
      }
      last = box;
      update();
      return;
    }
    if (event.target.closest && event.target.closest("[data-select-all]")) {
      boxes().forEach(function (b) { b.checked = true; });
      update();
    }
    if (event.target.closest && event.target.closest("#gallery-selection [data-selection-clear]")) {
      boxes().forEach(function (b) { b.checked = false; });
      update();
    }
    if (event.target.closest && event.target.closest("[data-compare]")) compare();
  });
  document.addEventListener("keydown", function (event) {
    // Ctrl/Cmd+A in the gallery selects every image in view.
    if ((event.ctrlKey || event.metaKey) && event.key === "a" && document.getElementById("gallery-grid") &&
        !event.target.closest("input, textarea, select, [contenteditable]")) {
      boxes().forEach(function (b) { b.checked = true; });
      update();
      event.preventDefault();
    }
  });
  // Deleted images leave the grid at once.
  document.body.addEventListener("gallery:deleted", function (event) {
    event.detail.ids.forEach(function (id) {
      // A tile goes with the edits stacked under it; an edit leaves its stack.
      var tile = document.getElementById("tile-" + id);
      if (tile) (tile.closest(".stack") || tile).remove();
      document.querySelectorAll('#gallery-grid [data-thumb="' + id + '"]').forEach(function (thumb) {
        var edit = thumb.closest(".edit"), stack = thumb.closest(".stack");
        thumb.remove();
        if (edit && !edit.querySelector(".thumb")) edit.remove();
        if (stack && !stack.querySelector(".edit")) stack.replaceWith(stack.querySelector(".tile"));
      });
    });
    update();
  });
  document.body.addEventListener("htmx:afterSettle", update);

  // Compare 2 to 4 images side by side, in the viewer.
  function compare() {
    var dialog = document.getElementById("lightbox");
    var body = document.getElementById("lightbox-body");
    var chosen = boxes().filter(function (b) { return b.checked; }).slice(0, 4);
    if (!dialog || chosen.length < 2) return;
    var grid = document.createElement("div");
    grid.className = "compare compare--" + chosen.length;
    chosen.forEach(function (box) {
      var tile = box.closest(".tile");
      var thumb = tile.querySelector(".tile__image img");
      var figure = document.createElement("figure");
      figure.className = "compare__item";
      var img = document.createElement("img");
      img.src = "/media/results/" + encodeURIComponent(box.value) + "/original/";
      img.alt = thumb ? thumb.alt : "";
      var caption = document.createElement("figcaption");
      caption.textContent = thumb ? thumb.alt : "";
      figure.append(img, caption);
      grid.append(figure);
    });
    body.replaceChildren(grid);
    dialog.dataset.result = "";
    if (!dialog.open) dialog.showModal();
  }
})();
