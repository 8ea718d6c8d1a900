// Discussion: @name completion in comment boxes, and no comment polling from a
// closed viewer. Delegated from the document, so it works after htmx swaps.
(function () {
  "use strict";
  var BEFORE_CARET = /(?:^|[^\w@.+-])@([\w.@+-]*)$/;

  function namesFor(textarea) {
    var source = document.querySelector(textarea.dataset.mentions);
    var names = source ? source.dataset.mentionNames : "";
    return names ? names.split(",") : [];
  }

  function listOf(textarea) {
    var list = textarea.parentNode.querySelector(".mention-list");
    if (!list) {
      list = document.createElement("ul");
      list.className = "mention-list";
      list.setAttribute("role", "listbox");
      list.id = textarea.id + "-mentions";
      list.hidden = true;
      textarea.after(list);
      textarea.setAttribute("aria-controls", list.id);
      textarea.setAttribute("aria-autocomplete", "list");
    }
    return list;
  }

  function close(textarea) {
    var list = textarea.parentNode.querySelector(".mention-list");
    if (list) { list.hidden = true; list.replaceChildren(); }
    textarea.setAttribute("aria-expanded", "false");
  }

  function query(textarea) {
    var match = BEFORE_CARET.exec(textarea.value.slice(0, textarea.selectionStart));
    return match ? match[1] : null;
  }

  function suggest(textarea) {
    var typed = query(textarea);
    if (typed === null) { close(textarea); return; }
    var lower = typed.toLowerCase();
    var names = namesFor(textarea).filter(function (name) {
      return name.toLowerCase().indexOf(lower) === 0 && name.toLowerCase() !== lower;
    }).slice(0, 8);
    if (!names.length) { close(textarea); return; }
    var list = listOf(textarea);
    list.replaceChildren();
    names.forEach(function (name, i) {
      var item = document.createElement("li");
      item.setAttribute("role", "option");
      item.id = list.id + "-" + i;
      item.dataset.name = name;
      item.textContent = "@" + name;
      item.setAttribute("aria-selected", i === 0 ? "true" : "false");
      list.append(item);
    });
    list.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    textarea.setAttribute("aria-activedescendant", list.id + "-0");
  }

  function choose(textarea, name) {
    var caret = textarea.selectionStart;
    var before = textarea.value.slice(0, caret).replace(/@[\w.@+-]*$/, "@" + name + " ");
    textarea.value = before + textarea.value.slice(caret);
    textarea.selectionStart = textarea.selectionEnd = before.length;
    close(textarea);
    textarea.focus();
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-mentions]")) suggest(event.target);
  });
  document.addEventListener("keydown", function (event) {
    var textarea = event.target;
    if (!textarea.matches || !textarea.matches("textarea[data-mentions]")) return;
    var list = textarea.parentNode.querySelector(".mention-list");
    if (!list || list.hidden) return;
    var items = Array.from(list.children);
    var at = items.findIndex(function (li) { return li.getAttribute("aria-selected") === "true"; });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var next = (at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === next ? "true" : "false"); });
      textarea.setAttribute("aria-activedescendant", items[next].id);
      event.preventDefault();
    } else if (event.key === "Enter" || event.key === "Tab") {
      choose(textarea, items[Math.max(at, 0)].dataset.name);
      event.preventDefault();
    } else if (event.key === "Escape") {
      close(textarea);
      event.preventDefault();
      event.stopPropagation();
    }
  });
  document.addEventListener("mousedown", function (event) {
    var item = event.target.closest && event.target.closest(".mention-list li");
    if (!item) return;
    event.preventDefault();  // keep the focus in the textarea
    choose(item.closest(".mention-box, form").querySelector("textarea[data-mentions]"), item.dataset.name);
  });

  // A closed viewer stops asking about its comments (its content stays in the dialog).
  document.addEventListener("close", function (event) {
    if (event.target.id !== "lightbox") return;
    event.target.querySelectorAll("[data-comments-poller]").forEach(function (el) {
      htmx.trigger(el, "htmx:abort"); // a poll in flight would answer into a removed element
      el.remove();
    });
  }, true);
})();
