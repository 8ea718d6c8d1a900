// Studio's small bits of JavaScript, where htmx does not reach: reference
// previews with drag and drop, and the image lightbox. Listeners are
// delegated from the document, so they keep working after htmx swaps.
(function () {
  "use strict";
  var MAX_REFERENCES = 4;

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
  document.addEventListener("drop", function (event) {
    var zone = dropzoneOf(event.target);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dropzone--active");
    var input = zone.querySelector("input[type=file]");
    // Dropped files are added to those already chosen, images only.
    var merged = new DataTransfer();
    Array.from(input.files).concat(Array.from(event.dataTransfer.files))
      .filter(function (file) { return file.type.indexOf("image/") === 0; })
      .forEach(function (file) { merged.items.add(file); });
    input.files = merged.files;
    renderPreviews(zone);
  });

  // Lightbox: the thumbnail's link still opens the full image without JS.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-lightbox]");
    var dialog = document.getElementById("lightbox");
    if (!link || !dialog || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    var img = dialog.querySelector("[data-lightbox-image]");
    img.src = link.href;
    img.alt = link.dataset.caption || "";
    dialog.querySelector("[data-lightbox-caption]").textContent = link.dataset.caption || "";
    dialog.querySelector("[data-lightbox-download]").href = link.dataset.download || link.href;
    dialog.showModal();
  });
  document.addEventListener("click", function (event) {
    // A click on the backdrop (the dialog itself, outside its content) closes it.
    if (event.target.id === "lightbox") event.target.close();
  });
})();
