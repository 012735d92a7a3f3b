// Progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Embeds load only when the visitor asks: no third-party request before the click.
  function loadEmbed(box) {
    var frame = document.createElement("iframe");
    frame.src = box.getAttribute("data-embed-src");
    frame.title = box.getAttribute("data-embed-title") || "";
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-presentation");
    frame.setAttribute("allow", "fullscreen");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.loading = "lazy";
    box.replaceChildren(frame);
  }

  // Media status cells refresh until their item is ready or failed.
  function poll(cell) {
    var state = cell.getAttribute("data-status");
    if (state === "ready" || state === "failed") { return; }
    fetch(cell.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        cell.setAttribute("data-status", data.status);
        cell.textContent = data.status + (data.status === "processing" ? " " + data.progress + "%" : "") +
          (data.error ? ": " + data.error.message : "");
        setTimeout(function () { poll(cell); }, 2000);
      })
      .catch(function () { setTimeout(function () { poll(cell); }, 5000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".embed-load").forEach(function (button) {
      button.addEventListener("click", function () { loadEmbed(button.closest(".embed")); });
    });
    document.querySelectorAll(".media-status").forEach(poll);
    // An H5 booth's poster stays until its frame has loaded (a bundle with a transparent page would show it).
    document.querySelectorAll("[data-h5] iframe.h5").forEach(function (frame) {
      frame.addEventListener("load", function () { frame.closest("[data-h5]").classList.add("h5-loaded"); });
    });
  });
})();
