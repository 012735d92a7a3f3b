// A keyboard-usable lightbox for image blocks. Each image is a link to its largest rendition (which works without
// script); with script, the link opens a modal <dialog> showing the image at screen size (the same srcset, so the
// browser picks the right width), with previous/next buttons, the arrow keys, Escape to close, and focus
// returned to the image that opened it.
(function () {
  "use strict";

  var dialog, figure, caption, counter, items = [], at = 0, opener = null;

  function build(labels) {
    dialog = document.createElement("dialog");
    dialog.className = "lightbox";
    dialog.setAttribute("aria-label", labels.labelViewer);
    figure = document.createElement("figure");
    caption = document.createElement("figcaption");
    counter = document.createElement("p");
    counter.className = "lightbox-count";
    counter.setAttribute("aria-live", "polite");
    var bar = document.createElement("div");
    bar.className = "lightbox-bar";
    [["prev", labels.labelPrev, "‹", -1], ["next", labels.labelNext, "›", 1]].forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "lightbox-" + b[0];
      button.setAttribute("aria-label", b[1]);
      button.textContent = b[2];
      button.addEventListener("click", function () { show(at + b[3]); });
      bar.appendChild(button);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "lightbox-close";
    close.setAttribute("aria-label", labels.labelClose);
    close.textContent = "×";
    close.addEventListener("click", function () { dialog.close(); });
    bar.appendChild(counter);
    bar.appendChild(close);
    dialog.appendChild(bar);
    dialog.appendChild(figure);
    dialog.appendChild(caption);
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "ArrowRight") { show(at + 1); event.preventDefault(); }
      if (event.key === "ArrowLeft") { show(at - 1); event.preventDefault(); }
    });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { dialog.close(); } });
    dialog.addEventListener("close", function () { if (opener) { opener.focus(); } });
    document.body.appendChild(dialog);
  }

  function show(index) {
    at = (index + items.length) % items.length;
    var link = items[at];
    var picture = link.querySelector("picture").cloneNode(true);
    picture.querySelectorAll("source, img").forEach(function (el) {
      el.setAttribute("sizes", "100vw");
      el.removeAttribute("loading");
    });
    figure.replaceChildren(picture);
    var text = link.closest("figure") && link.closest("figure").querySelector("figcaption");
    caption.textContent = text ? text.textContent : "";
    counter.textContent = (at + 1) + " / " + items.length;
    dialog.querySelector(".lightbox-prev").hidden = dialog.querySelector(".lightbox-next").hidden = items.length < 2;
  }

  function open(event) {
    event.preventDefault();
    opener = event.currentTarget;
    items = Array.prototype.slice.call(
      document.querySelectorAll('a.zoom[data-gallery="' + opener.getAttribute("data-gallery") + '"]'));
    if (!dialog) { build(opener.closest("figure").dataset); }
    show(items.indexOf(opener));
    dialog.showModal();
    dialog.querySelector(".lightbox-close").focus();
  }

  function init() {
    if (typeof HTMLDialogElement === "undefined") { return; }  // old WebViews keep the plain links
    document.querySelectorAll("a.zoom[data-gallery]").forEach(function (link) {
      link.addEventListener("click", open);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
