// The live broadcast page: "starts in …" before, the stream (native HLS where the browser has it, else the
// vendored hls.js, as player.js does) while on air, and a heartbeat every 30 s while it plays that returns how
// many are watching. The viewer id is random and kept in localStorage: no personal data.
(function () {
  "use strict";
  var BEAT_MS = 30000;

  function viewerId() {
    var id = null;
    try { id = window.localStorage.getItem("expo-viewer"); } catch (e) { id = null; }
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
      try { window.localStorage.setItem("expo-viewer", id); } catch (e) { /* private mode: one id per page */ }
    }
    return id;
  }

  function attach(video) {
    var src = video.getAttribute("data-live-hls");
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    } else if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ capLevelToPlayerSize: true, liveSyncDurationCount: 3 });
      hls.attachMedia(video);
      video.addEventListener("play", function () { hls.loadSource(src); }, { once: true });
    }
  }

  function countdown(box, startsAt, onStart) {
    var node = box.querySelector("[data-countdown]");
    var label = box.getAttribute("data-label-starts-in");
    function tick() {
      var left = Math.max(0, Math.floor((startsAt - Date.now()) / 1000));
      if (left === 0) { if (node) { node.hidden = true; } onStart(); return; }
      var d = Math.floor(left / 86400), h = Math.floor(left / 3600) % 24, m = Math.floor(left / 60) % 60, s = left % 60;
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      if (node) { node.textContent = label + " " + (d ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(s); }
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  function heartbeat(box, video) {
    var url = box.getAttribute("data-heartbeat"), viewer = viewerId(), timer = null;
    var now = box.querySelector("[data-viewers]"), total = box.querySelector("[data-participants]");
    function beat() {
      fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
                   body: JSON.stringify({ viewer: viewer }) })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          if (now) { now.textContent = data.viewers_now; }
          if (total) { total.textContent = data.participants_total; }
        })
        .catch(function () { /* the next beat tries again */ });
    }
    video.addEventListener("playing", function () {
      if (timer === null) { beat(); timer = window.setInterval(beat, BEAT_MS); }
    });
    ["pause", "ended", "emptied"].forEach(function (name) {
      video.addEventListener(name, function () { window.clearInterval(timer); timer = null; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("live");
    if (!box) { return; }
    var video = box.querySelector("video[data-live-hls]");
    if (!video) { return; }
    attach(video);
    heartbeat(box, video);
    if (box.getAttribute("data-state") === "upcoming") {
      countdown(box, Date.parse(box.getAttribute("data-starts-at")), function () { video.hidden = false; });
    }
  });
})();
