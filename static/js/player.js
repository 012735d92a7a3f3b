// Video through HLS (native where the browser has it, else the vendored hls.js) and audio with its waveform.
(function () {
  "use strict";

  function attachHls(video) {
    var src = video.getAttribute("data-hls");
    if (!src) { return; }
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    } else if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ capLevelToPlayerSize: true, startLevel: -1 });
      hls.loadSource(src);
      hls.attachMedia(video);
      video.hlsPlayer = hls;
    } else if (video.getAttribute("data-fallback")) {
      video.src = video.getAttribute("data-fallback");
    }
  }

  function drawWaveform(canvas, peaks, played) {
    var ctx = canvas.getContext("2d");
    var w = canvas.width, h = canvas.height, n = peaks.length;
    ctx.clearRect(0, 0, w, h);
    for (var i = 0; i < n; i++) {
      var x = Math.floor(i * w / n), bar = Math.max(1, Math.round(peaks[i] * h));
      ctx.fillStyle = i / n <= played ? "#0b5cad" : "#9aa5b1";
      ctx.fillRect(x, (h - bar) / 2, Math.max(1, Math.floor(w / n) - 1), bar);
    }
  }

  function attachWaveform(box) {
    var audio = box.querySelector("audio");
    var canvas = box.querySelector("canvas");
    fetch(box.getAttribute("data-waveform"))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.peaks) { return; }
        var redraw = function () { drawWaveform(canvas, data.peaks, audio.duration ? audio.currentTime / audio.duration : 0); };
        redraw();
        audio.addEventListener("timeupdate", redraw);
        canvas.addEventListener("click", function (event) {
          var rect = canvas.getBoundingClientRect();
          if (audio.duration) { audio.currentTime = audio.duration * (event.clientX - rect.left) / rect.width; }
        });
      })
      .catch(function () { canvas.hidden = true; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("video[data-hls]").forEach(attachHls);
    document.querySelectorAll("[data-waveform]").forEach(attachWaveform);
  });
})();
