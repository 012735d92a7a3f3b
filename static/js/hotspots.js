// The editor's hotspot picker: a small viewer of the chosen panorama; a click (not a drag) in it adds
// "pitch, yaw, " to the block's hotspots textarea, which stays the way to edit them without script; with a
// block chosen under "New hotspots link to", the line also gets "-> N", the link to that block (a scene of a tour).
(function () {
  "use strict";

  function addLine(area, pitch, yaw, link) {
    var text = area.value;
    if (text && text.slice(-1) !== "\n") { text += "\n"; }
    var choice = link && link.selectedOptions[0];
    var tail = choice && choice.value ? choice.getAttribute("data-label") + " -> " + choice.value : "";
    area.value = text + pitch.toFixed(1) + ", " + yaw.toFixed(1) + ", " + tail;
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function show(picker, media) {
    var old = picker.querySelector(".panorama");
    var area = document.getElementById(picker.getAttribute("data-hotspots"));
    var link = picker.querySelector(".hotspot-link");
    if (old.expoViewer) { old.expoViewer.destroy(); }
    var box = old.cloneNode(false);  // a fresh element: no listeners left from the previous media
    old.replaceWith(box);
    if (!media || media.kind !== "panorama" || media.status !== "ready") { picker.hidden = true; return; }
    picker.hidden = false;
    var viewer = window.pannellum.viewer(box, {
      type: "equirectangular", panorama: media.renditions.base, preview: media.renditions.preview,
      autoLoad: true, escapeHTML: true, compass: false, showFullscreenCtrl: false, hfov: 100
    });
    box.expoViewer = viewer;
    var down = null;
    box.addEventListener("pointerdown", function (event) { down = [event.clientX, event.clientY]; }, true);
    box.addEventListener("pointerup", function (event) {
      if (!down || Math.abs(event.clientX - down[0]) + Math.abs(event.clientY - down[1]) > 4 || !viewer.isLoaded()) {
        return;
      }
      var at = viewer.mouseEventToCoords(event);
      addLine(area, at[0], at[1], link);
      viewer.addHotSpot({ pitch: at[0], yaw: at[1], type: "info", text: "" });
      picker.setAttribute("data-added", String(Number(picker.getAttribute("data-added") || 0) + 1));
    }, true);
    // Keyboard users place a hotspot at the centre of the view.
    picker.querySelector(".hotspot-here").onclick = function () {
      if (viewer.isLoaded()) { addLine(area, viewer.getPitch(), viewer.getYaw(), link); area.focus(); }
    };
  }

  function load(picker) {
    var select = document.getElementById(picker.getAttribute("data-media-select"));
    if (!select.value) { show(picker, null); return; }
    var url = picker.getAttribute("data-status-url").replace("MEDIA_ID", encodeURIComponent(select.value));
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (media) { show(picker, media); })
      .catch(function () { show(picker, null); });
  }

  function init() {
    if (!window.pannellum) { return; }
    document.querySelectorAll(".hotspot-picker").forEach(function (picker) {
      document.getElementById(picker.getAttribute("data-media-select"))
        .addEventListener("change", function () { load(picker); });
      load(picker);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
