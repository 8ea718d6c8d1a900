// Studio's small bits of JavaScript, where htmx does not reach: reference
// previews with drag and drop, and the image lightbox. Listeners are
// delegated from the document, so they keep working after htmx swaps.
(function () {
  "use strict";
  var MAX_REFERENCES = 4;
  var toast = function (m, e) { window.StudioUI.toast(m, e); };

  function dropzoneOf(el) { return el && el.closest && el.closest("[data-dropzone]"); }

  function renderPreviews(zone) {
    var input = zone.querySelector("input[type=file]");
    var list = zone.querySelector(".dropzone__previews");
    list.querySelectorAll("img").forEach(function (img) { URL.revokeObjectURL(img.src); });
    list.replaceChildren();
    Array.from(input.files).forEach(function (file) {
      var item = document.createElement("li");
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = "Reference: " + file.name;
      var name = document.createElement("span");
      name.textContent = file.name;
      item.append(img, name);
      list.append(item);
    });
    zone.classList.toggle("dropzone--over-limit", input.files.length > MAX_REFERENCES);
    var hint = zone.querySelector(".dropzone__hint");
    hint.textContent = input.files.length > MAX_REFERENCES
      ? "That is " + input.files.length + " images: at most " + MAX_REFERENCES + " can be used."
      : input.files.length ? input.files.length + " of " + MAX_REFERENCES + " reference images"
      : "Drop up to 4 images here, or choose files";
  }

  document.addEventListener("change", function (event) {
    var zone = dropzoneOf(event.target);
    if (zone && event.target.type === "file") renderPreviews(zone);
  });
  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = dropzoneOf(event.target);
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dropzone--active");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = dropzoneOf(event.target);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("dropzone--active");
  });
  // An image dragged from the feed or the gallery: the studio's own result.
  var RESULT_TYPE = "application/x-studio-result";
  document.addEventListener("dragstart", function (event) {
    var link = event.target.closest && event.target.closest("[data-drag-result], .tile a[data-lightbox-id]");
    if (!link) return;
    event.dataTransfer.setData(RESULT_TYPE, link.dataset.dragResult || link.dataset.lightboxId);
    event.dataTransfer.effectAllowed = "copy";
  });
  document.addEventListener("drop", function (event) {
    var zone = dropzoneOf(event.target);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dropzone--active");
    var resultId = event.dataTransfer.getData(RESULT_TYPE);
    if (resultId && window.htmx) {
      htmx.ajax("POST", "/results/" + encodeURIComponent(resultId) + "/use-as-reference/",
        { source: zone, swap: "none" });
      return;
    }
    var input = zone.querySelector("input[type=file]");
    // Dropped files are added to those already chosen, images only; say what was left out.
    var merged = new DataTransfer();
    var dropped = Array.from(event.dataTransfer.files);
    var refused = dropped.filter(function (file) { return file.type.indexOf("image/") !== 0; });
    Array.from(input.files).concat(dropped)
      .filter(function (file) { return file.type.indexOf("image/") === 0; })
      .forEach(function (file) { merged.items.add(file); });
    input.files = merged.files;
    renderPreviews(zone);
    if (refused.length) {
      toast(refused.map(function (f) { return f.name; }).join(", ") +
        (refused.length === 1 ? " is not an image; it was left out." : " are not images; they were left out."), true);
    }
  });

  // Lightbox: the thumbnail's link still opens the image's own page without JS.
  function lightbox() { return document.getElementById("lightbox"); }

  function galleryIds() {
    return Array.from(document.querySelectorAll(
      "#gallery .thumb a[data-lightbox-id], [data-lightbox-group] a[data-lightbox-id]"))
      .map(function (a) { return a.dataset.lightboxId; });
  }

  function openResult(id) {
    var dialog = lightbox();
    if (!dialog || !window.htmx) return false;
    htmx.ajax("GET", "/results/" + id + "/", { target: "#lightbox-body", swap: "innerHTML" })
      .then(function () { if (!dialog.open) dialog.showModal(); });
    dialog.dataset.result = id;
    return true;
  }

  function move(step) {
    var ids = galleryIds();
    var at = ids.indexOf(lightbox().dataset.result);
    var next = ids[at + step];
    if (at >= 0 && next) openResult(next);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-lightbox-id]");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
    if (openResult(link.dataset.lightboxId)) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    var step = event.target.closest && event.target.closest("[data-lightbox-step]");
    if (step) move(Number(step.dataset.lightboxStep));
  });
  // Swipe left or right on the viewer to move (phones).
  var swipeX = null;
  document.addEventListener("pointerdown", function (event) {
    swipeX = event.target.closest && event.target.closest("#lightbox .viewer__image") ? event.clientX : null;
  });
  document.addEventListener("pointerup", function (event) {
    if (swipeX === null) return;
    var dx = event.clientX - swipeX;
    swipeX = null;
    if (Math.abs(dx) > 60) move(dx < 0 ? 1 : -1);
  });
  document.addEventListener("click", function (event) {
    // A click on the backdrop (the dialog itself, outside its content) closes it.
    if (event.target.id === "lightbox") event.target.close();
    var copy = event.target.closest && event.target.closest("[data-copy]");
    if (copy) {
      var text = document.querySelector(copy.dataset.copy).textContent;
      navigator.clipboard.writeText(text).then(
        function () { toast("Prompt copied."); },
        function () { toast("Copying is not allowed here; select the text instead.", true); });
    }
    var remove = event.target.closest && event.target.closest("[data-remove-chip]");
    if (remove) remove.closest("li").remove();
  });
  document.addEventListener("keydown", function (event) {
    var dialog = lightbox();
    if (!dialog || !dialog.open || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest("input, textarea, select")) return;
    if (event.key === "ArrowRight") { move(1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { move(-1); event.preventDefault(); }
    else if (event.key === "d" || event.key === "D") {
      var download = dialog.querySelector("[data-download]");
      if (download) { download.click(); event.preventDefault(); }
    }
  });

  // "Use these settings" in the viewer: where the studio's form is on the page,
  // the settings merge into it (keeping its references, as the card's button
  // does); elsewhere the link opens the studio with them.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-use-settings]");
    var form = document.getElementById("generation-form");
    if (!link || !form || !window.htmx) return;
    event.preventDefault();
    var values = {};
    new FormData(form).forEach(function (value, name) {
      if (typeof value !== "string") return;  // files stay where they are
      if (name in values) values[name] = [].concat(values[name], value);
      else values[name] = value;
    });
    htmx.ajax("GET", link.getAttribute("href"), { target: "#generation-form", swap: "outerHTML", values: values })
      .then(function () {
        var dialog = lightbox();
        if (dialog && dialog.open) dialog.close();
        var fresh = document.getElementById("generation-form");
        if (fresh) fresh.scrollIntoView({ block: "start" });
      });
  });

  // "Use this" (Already made): the form now has its settings; show the image itself.
  document.body.addEventListener("htmx:afterSettle", function () {
    var marker = document.querySelector("[data-open-result]");
    if (!marker) return;
    marker.remove();
    openResult(marker.dataset.openResult);
  });
  document.body.addEventListener("studio:done", function (event) {
    var dialog = lightbox();
    if (dialog && dialog.open) dialog.close();
    toast(event.detail.message);
  });
  document.body.addEventListener("studio:error", function (event) {
    toast(event.detail.message, true);
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    toast(status === 403 ? "You are not allowed to do that in this team."
      : status === 404 ? "That item no longer exists."
      : "Something went wrong (" + status + "). Try again.", true);
  });

  // After the form is swapped: focus the first field with an error, or the
  // prompt, so the keyboard stays where the person is working.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var form = event.detail.elt && event.detail.elt.id === "generation-form"
      ? event.detail.elt : document.getElementById("generation-form");
    if (!form || !form.isConnected || event.detail.target.id !== "generation-form") return;
    var target = form.querySelector("[aria-invalid=true], .field--invalid input") ||
      form.querySelector("textarea[name=prompt]");
    if (target) target.focus();
  });

  // Selection of results, for a zip download.
  function updateSelection() {
    var form = document.getElementById("selection-form");
    if (!form) return;
    var count = document.querySelectorAll("input.thumb__select:checked").length;
    form.hidden = count === 0;
    form.querySelector("[data-selection-count]").textContent =
      count + (count === 1 ? " image selected" : " images selected");
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input.thumb__select")) updateSelection();
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("[data-selection-clear]")) return;
    document.querySelectorAll("input.thumb__select:checked")
      .forEach(function (box) { box.checked = false; });
    updateSelection();
  });
  document.body.addEventListener("htmx:afterSettle", updateSelection);
})();

// The settings in effect, as chips above Generate; "Temporary output" says what it means.
(function () {
  "use strict";
  function chip(list, text, title) {
    var item = document.createElement("li");
    item.className = "settings-chip" + (title ? " settings-chip--note" : "");
    item.textContent = text;
    if (title) {
      var note = document.createElement("span");
      note.className = "settings-chip__note";
      note.textContent = " — " + title;
      item.append(note);
    }
    list.append(item);
  }
  function renderChips() {
    var form = document.getElementById("generation-form");
    var list = form && form.querySelector("[data-settings-chips]");
    if (!list) return;
    list.replaceChildren();
    var ratio = form.elements.aspect_ratio, count = form.elements.num_results;
    var watermark = form.elements.watermark_mode, temporary = form.elements.is_output_temporary;
    if (ratio) chip(list, ratio.value);
    if (count && count.value) chip(list, count.value + (count.value === "1" ? " image" : " images"));
    if (watermark && watermark.selectedOptions[0]) chip(list, watermark.selectedOptions[0].textContent);
    var refs = form.querySelectorAll("#reference-chips li").length +
      (form.querySelector("input[type=file]") ? form.querySelector("input[type=file]").files.length : 0);
    if (refs) chip(list, refs + (refs === 1 ? " reference" : " references"));
    if (temporary && temporary.checked) chip(list, "Temporary output", "kept by VideoGen for 24 h, not searchable");
  }
  document.addEventListener("change", renderChips);
  document.addEventListener("input", renderChips);
  document.addEventListener("DOMContentLoaded", renderChips);
  document.addEventListener("htmx:load", renderChips);
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-remove-chip]")) setTimeout(renderChips);
  });
})();

// Prompt history: pick one from the list, or ↑ / ↓ in an empty (or recalled) prompt box.
(function () {
  "use strict";
  var at = -1;
  function items() { return Array.from(document.querySelectorAll("[data-use-prompt]")); }
  function prompt() { return document.querySelector("#generation-form textarea[name=prompt]"); }
  function use(text) {
    var box = prompt();
    if (!box) return;
    box.value = text;
    box.dataset.recalled = "1";
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }
  document.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest("[data-use-prompt]");
    if (!item) return;
    use(item.textContent);
    item.closest("details").open = false;
    prompt().focus();
  });
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("#generation-form textarea[name=prompt]")) return;
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    if (box.value && !box.dataset.recalled) return;
    var list = items();
    if (!list.length) {
      var history = document.querySelector("[data-prompt-history]");
      if (history && window.htmx) htmx.ajax("GET", history.getAttribute("hx-get"),
        { target: history.querySelector(".prompt-history__list"), swap: "innerHTML" })
        .then(function () { at = -1; if (items().length) { at = 0; use(items()[0].textContent); } });
      event.preventDefault();
      return;
    }
    at = Math.max(-1, Math.min(list.length - 1, at + (event.key === "ArrowUp" ? 1 : -1)));
    if (at < 0) { box.value = ""; delete box.dataset.recalled; } else use(list[at].textContent);
    event.preventDefault();
  });
  document.addEventListener("input", function (event) {
    if (event.isTrusted && event.target.dataset) delete event.target.dataset.recalled;
  });
})();

// The studio's poller (generations/studio.html#poller) ticks every second and is
// never replaced; while #gallery-poll-mode says idle (nothing in flight), only
// every data-idle-every-th second's tick asks. Pushes and "studio:poll" always ask.
(function () {
  "use strict";
  var lastAsked = 0;
  function poller(event) {
    var elt = event.detail && event.detail.elt;
    return elt && elt.id === "gallery-poller" ? elt : null;
  }
  document.addEventListener("htmx:confirm", function (event) {
    var elt = poller(event);
    if (!elt || event.detail.triggeringEvent) return;
    var mode = document.getElementById("gallery-poll-mode");
    if (!mode || mode.value !== "1") return;
    var every = Number(elt.dataset.idleEvery || 5) * 1000;
    // A little slack: the timer's ticks are not exactly a second apart.
    if (Date.now() - lastAsked < every - 250) event.preventDefault();
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (poller(event)) lastAsked = Date.now();
  });
})();
