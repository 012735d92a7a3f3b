// The draft editor, made pleasant on top of a form that works without script:
// * blocks reorder by dragging their handle, or with their ↑/↓ buttons (no page reload; focus stays on the
//   button, and the new position is announced);
// * the preview frame follows the unsaved form (posted to the preview URL a moment after each change);
// * leaving the page with unsaved changes asks first.
// Field names carry the block's position (blocks-N-field), and hotspot links name blocks by number ("-> N"):
// both are rewritten to the current order before any submission.
(function () {
  "use strict";

  var form = document.getElementById("draft");
  if (!form) { return; }
  var list = form.querySelector("ol.blocks");
  var status = document.getElementById("editor-status");
  var dirty = false, timer = null;

  function items() { return Array.prototype.slice.call(list.children); }

  function renumber() {
    var moved = {};
    items().forEach(function (item, position) {
      var was = item.getAttribute("data-position");
      if (was === null) { was = String(position); item.setAttribute("data-position", was); }
      moved[Number(was) + 1] = position + 1;
    });
    items().forEach(function (item, position) {
      item.querySelectorAll("[name^='blocks-']").forEach(function (field) {
        field.name = field.name.replace(/^blocks-\d+-/, "blocks-" + position + "-");
      });
      item.querySelectorAll("button[name='op']").forEach(function (button) {
        button.value = button.value.replace(/-\d+$/, "-" + position);
      });
      var legend = item.querySelector("legend");
      if (legend) { legend.textContent = legend.textContent.replace(/^\d+/, String(position + 1)); }
      item.querySelectorAll("textarea[name$='-hotspots']").forEach(function (area) {
        area.value = area.value.replace(/->\s*(\d+)\s*$/gm, function (all, n) {
          return "-> " + (moved[Number(n)] || n);
        });
      });
    });
    items().forEach(function (item, position) { item.setAttribute("data-position", String(position)); });
  }

  function changed() {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 700);
  }

  function refreshPreview() {
    var button = form.querySelector("button.update-preview");
    if (!button) { return; }
    renumber();
    form.requestSubmit ? form.requestSubmit(button) : button.click();
  }

  function announce(text) { if (status) { status.textContent = text; } }

  function move(item, step) {
    var all = items(), at = all.indexOf(item), to = at + step;
    if (to < 0 || to >= all.length) { return; }
    if (step < 0) { list.insertBefore(item, all[to]); } else { list.insertBefore(item, all[to].nextSibling); }
    renumber();
    announce(form.getAttribute("data-moved").replace("N", String(to + 1)));
    changed();
  }

  items().forEach(function (item, position) { item.setAttribute("data-position", String(position)); });

  // ↑/↓ move in place; the buttons keep working as plain submits without script.
  list.addEventListener("click", function (event) {
    var button = event.target.closest("button[name='op']");
    if (!button) { return; }
    var verb = button.value.split("-")[0];
    if (verb === "up" || verb === "down") {
      event.preventDefault();
      move(button.closest("li"), verb === "up" ? -1 : 1);
      button.focus();
    }
  });

  // Dragging by the handle.
  var dragged = null;
  items().forEach(function (item) {
    var handle = item.querySelector(".drag-handle");
    if (!handle) { return; }
    // The handle is what drags (a draggable block would stop text selection in its fields).
    handle.hidden = false;
    handle.draggable = true;
    handle.addEventListener("dragstart", function (event) {
      dragged = item;
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", "");
      event.dataTransfer.setDragImage(item, 20, 20);
    });
    handle.addEventListener("dragend", function () {
      item.classList.remove("dragging");
      dragged = null;
    });
  });
  list.addEventListener("dragover", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    var over = event.target.closest("li.block-edit");
    if (!over || over === dragged) { return; }
    var box = over.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextSibling : over);
  });
  list.addEventListener("drop", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    renumber();
    announce(form.getAttribute("data-moved").replace("N", String(items().indexOf(dragged) + 1)));
    changed();
  });

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function (event) {
    renumber();
    var submitter = event.submitter;
    if (!submitter || !submitter.classList.contains("update-preview")) { dirty = false; }
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = form.getAttribute("data-unsaved"); }
  });

  // Phone or desktop width for the preview frame.
  document.querySelectorAll(".preview-sizes button").forEach(function (button) {
    button.addEventListener("click", function () {
      document.querySelectorAll(".preview-sizes button").forEach(function (other) {
        other.setAttribute("aria-pressed", String(other === button));
      });
      var frame = document.querySelector(".preview-frame");
      frame.classList.toggle("phone", button.getAttribute("data-width") === "phone");
      frame.classList.toggle("desktop", button.getAttribute("data-width") === "desktop");
    });
  });
})();
