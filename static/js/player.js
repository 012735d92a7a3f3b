// Video through HLS (native where the browser has it, else the vendored hls.js), a seek strip with storyboard
// thumbnails under videos that have a storyboard track, and audio with its waveform.
(function () {
  "use strict";

  function attachHls(video) {
    var src = video.getAttribute("data-hls");
    if (!src) { return; }
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    } else if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ capLevelToPlayerSize: true, startLevel: -1 });
      hls.attachMedia(video);
      video.hlsPlayer = hls;
      // hls.js ignores preload="none" and would fetch playlists and segments at once: wait for play or a seek.
      var started = false;
      video.wakeHls = function () {
        if (!started) { started = true; hls.loadSource(src); }
      };
      if (video.preload === "none") {
        video.addEventListener("play", video.wakeHls, { once: true });
      } else {
        video.wakeHls();
      }
    } else if (video.getAttribute("data-fallback")) {
      video.src = video.getAttribute("data-fallback");
    }
  }

  // Storyboard thumbnails: the native controls cannot show them, so a range input under the video does. The
  // storyboard is a metadata track whose cues read "storyboard.jpg#xywh=x,y,w,h" (relative to the track's URL).
  var THUMB_WIDTH = 160;
  var TRACK_LOADED = 2, TRACK_ERROR = 3;  // HTMLTrackElement.readyState

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0)), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }

  function frameOf(cue, base) {
    var url = new URL(cue.text.trim(), base);
    var xywh = /^#xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)$/.exec(url.hash);
    if (!xywh) { return null; }
    url.hash = "";
    return { start: cue.startTime, end: cue.endTime, src: url.href,
             x: +xywh[1], y: +xywh[2], w: +xywh[3], h: +xywh[4] };
  }

  // Resolve to the storyboard's frames, each with the size of its whole sprite; [] when the track fails.
  function loadStoryboard(element) {
    return new Promise(function (resolve) {
      var finish = function () {
        var frames = [], sheets = {}, cues = element.track.cues || [];
        for (var i = 0; i < cues.length; i++) {
          var frame = frameOf(cues[i], element.src);
          if (!frame) { continue; }
          var sheet = sheets[frame.src] = sheets[frame.src] || { w: 0, h: 0 };
          sheet.w = Math.max(sheet.w, frame.x + frame.w);
          sheet.h = Math.max(sheet.h, frame.y + frame.h);
          frame.sheet = sheet;
          frames.push(frame);
        }
        resolve(frames);
      };
      element.addEventListener("load", finish, { once: true });
      element.addEventListener("error", function () { resolve([]); }, { once: true });
      element.track.mode = "hidden";  // a disabled track never loads: this is what fetches the WebVTT
      if (element.readyState === TRACK_LOADED) { finish(); }
      if (element.readyState === TRACK_ERROR) { resolve([]); }
    });
  }

  function buildStrip(video) {
    var strip = document.createElement("div");
    strip.className = "seek";
    strip.innerHTML = '<div class="seek-preview" aria-hidden="true" hidden><div class="seek-thumb" hidden></div>' +
      '<span class="seek-time"></span></div><input class="seek-range" type="range" min="0" max="0" step="1" value="0">';
    strip.querySelector("input").setAttribute("aria-label", video.getAttribute("data-seek-label") || "Seek");
    video.insertAdjacentElement("afterend", strip);
    return strip;
  }

  function attachStoryboard(video) {
    var element = video.querySelector('track[kind="metadata"][label="storyboard"]');
    if (!element) { return; }
    var strip = buildStrip(video);
    var preview = strip.querySelector(".seek-preview"), thumb = strip.querySelector(".seek-thumb");
    var label = strip.querySelector(".seek-time"), range = strip.querySelector("input");
    var frames = [], loading = null, dragging = false, pointer = null, focused = false, dismissed = false;
    var pending = null;  // where a first tap landed before the length was known (touch screens have no hover)

    function duration() {
      if (isFinite(video.duration) && video.duration > 0) { return video.duration; }
      return frames.length ? frames[frames.length - 1].end : 0;
    }

    function sync() {
      var total = duration();
      if (total && Number(range.max) !== total) { range.max = String(total); }
      if (!dragging) { range.value = String(video.currentTime); }
      range.setAttribute("aria-valuetext", clock(Number(range.value)) + " / " + clock(total));
    }

    function frameAt(time) {
      for (var i = 0; i < frames.length; i++) {
        if (time < frames[i].end) { return frames[i]; }
      }
      return frames[frames.length - 1];
    }

    function show(time, x) {
      var frame = frames.length ? frameAt(time) : null;
      if (frame) {
        var scale = Math.min(THUMB_WIDTH, strip.clientWidth) / frame.w;
        var px = function (n) { return Math.round(n * scale) + "px"; };
        thumb.style.width = px(frame.w);
        thumb.style.height = px(frame.h);
        thumb.style.backgroundImage = 'url("' + frame.src.replace(/["\\]/g, "\\$&") + '")';
        thumb.style.backgroundSize = px(frame.sheet.w) + " " + px(frame.sheet.h);
        thumb.style.backgroundPosition = "-" + px(frame.x) + " -" + px(frame.y);
      }
      thumb.hidden = !frame;
      label.textContent = clock(time);
      preview.hidden = false;
      var room = strip.clientWidth - preview.offsetWidth;
      preview.style.left = Math.max(0, Math.min(room, x - preview.offsetWidth / 2)) + "px";
    }

    // The thumbnail follows the pointer while it is over the strip, else the value while the strip has focus;
    // Escape dismisses it until the next move (WCAG 1.4.13).
    function refresh() {
      var total = duration();
      if (dismissed || !total) {
        preview.hidden = true;
      } else if (pointer !== null) {
        show(pointer * total, pointer * strip.clientWidth);
      } else if (focused) {
        show(Number(range.value), Number(range.value) / total * strip.clientWidth);
      } else {
        preview.hidden = true;
      }
    }

    function seek(time) {
      if (video.readyState === 0) {  // the visitor asked for this point: load the video if it has not yet
        if (video.wakeHls) { video.wakeHls(); } else if (video.preload === "none") { video.preload = "metadata"; }
      }
      video.currentTime = time;
      dismissed = false;
      sync();
      refresh();
    }

    function load() {
      loading = loading || loadStoryboard(element).then(function (list) {
        frames = list;
        sync();
        if (pending !== null && duration()) { seek(pending * duration()); }
        pending = null;
        refresh();
      });
    }

    function fraction(event) {
      var box = range.getBoundingClientRect();
      return Math.max(0, Math.min(1, (event.clientX - box.left) / box.width));
    }

    range.addEventListener("pointermove", function (event) {
      pointer = fraction(event);
      dismissed = false;
      load();
      refresh();
    });
    range.addEventListener("pointerleave", function () { pointer = null; refresh(); });
    range.addEventListener("pointerdown", function (event) {
      dragging = true;
      if (!duration()) { pending = fraction(event); }
      load();
    });
    document.addEventListener("pointerup", function () { dragging = false; });
    document.addEventListener("pointercancel", function () { dragging = false; });
    range.addEventListener("focus", function () { focused = true; dismissed = false; load(); refresh(); });
    range.addEventListener("blur", function () { focused = false; refresh(); });
    range.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !preview.hidden) { dismissed = true; refresh(); event.preventDefault(); }
    });
    range.addEventListener("input", function () { seek(Number(range.value)); });
    ["timeupdate", "durationchange", "loadedmetadata", "seeked"].forEach(function (name) {
      video.addEventListener(name, function () { sync(); refresh(); });
    });
    video.addEventListener("play", load);
    sync();
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
    document.querySelectorAll("video").forEach(attachStoryboard);
    document.querySelectorAll("[data-waveform]").forEach(attachWaveform);
    // One play counted per page and item (the statistics' "media plays"); a beacon survives leaving the page.
    document.querySelectorAll("video[data-media], audio[data-media]").forEach(function (player) {
      player.addEventListener("play", function () {
        if (navigator.sendBeacon) {
          navigator.sendBeacon("/api/v1/stats/play", new Blob(
            [JSON.stringify({ media: player.getAttribute("data-media") })], { type: "application/json" }));
        }
      }, { once: true });
    });
  });
})();
