// VR panoramas: starts the vendored Pannellum on every .panorama container of the page.
// The blurred preview shows at once; then the cube tiles (WebGL) or the 4096 px base image.
// Hotspots link to another panorama of the page (a scene change) or to another block (#block-<id>).
(function () {
  "use strict";

  function json(el, name, fallback) {
    try { return JSON.parse(el.getAttribute(name)) || fallback; } catch (e) { return fallback; }
  }

  function webgl() {
    try {
      var canvas = document.createElement("canvas");
      return !!(canvas.getContext("webgl") || canvas.getContext("experimental-webgl"));
    } catch (e) { return false; }
  }

  function goTo(event, target) {
    var block = document.getElementById("block-" + target) || document.getElementById("panorama-" + target);
    if (block) { block.scrollIntoView({ behavior: "smooth" }); block.focus({ preventScroll: true }); }
  }

  function hotspot(spot, scenes) {
    var config = { pitch: spot.pitch, yaw: spot.yaw, text: spot.text || "", type: "info" };
    if (spot.target && scenes[spot.target]) {
      config.type = "scene";
      config.sceneId = spot.target;
    } else if (spot.target) {
      config.clickHandlerFunc = goTo;
      config.clickHandlerArgs = spot.target;
    }
    return config;
  }

  // One scene per panorama container of the page, so hotspots can walk from one to another.
  function scene(el, tiles) {
    var config = { preview: el.getAttribute("data-preview"), title: "" };
    var multires = json(el, "data-multires", null);
    if (multires && tiles) {
      config.type = "multires";
      config.multiRes = Object.assign({ basePath: el.getAttribute("data-tiles") }, multires);
    } else {
      config.type = "equirectangular";
      config.panorama = el.getAttribute("data-base");
    }
    return config;
  }

  function start(el, scenes) {
    var id = el.getAttribute("data-block-id");
    var own = {};
    Object.keys(scenes).forEach(function (key) {
      own[key] = Object.assign({}, scenes[key].config, {
        hotSpots: scenes[key].hotspots.map(function (spot) { return hotspot(spot, scenes); })
      });
    });
    var still = el.querySelector(".panorama-still");
    if (still) { still.remove(); }
    var label = el.getAttribute("aria-label");
    var viewer = window.pannellum.viewer(el, {
      default: { firstScene: id, autoLoad: true, escapeHTML: true, sceneFadeDuration: 600, showFullscreenCtrl: true,
                 compass: false, hfov: 100 },
      scenes: own,
      escapeHTML: true  // read from the top level, not from `default`: hotspot text is text, never markup
    });
    el.setAttribute("aria-label", label);  // Pannellum leaves it alone, but keep it if a future version does not
    el.expoViewer = viewer;
    return viewer;
  }

  function init() {
    if (!window.pannellum) { return; }
    var boxes = Array.prototype.slice.call(document.querySelectorAll(".panorama[data-block-id]"));
    var tiles = webgl();
    var scenes = {};
    boxes.forEach(function (el) {
      scenes[el.getAttribute("data-block-id")] = { config: scene(el, tiles), hotspots: json(el, "data-hotspots", []) };
    });
    boxes.forEach(function (el) { start(el, scenes); });
  }

  window.expoPanorama = { json: json, webgl: webgl };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
