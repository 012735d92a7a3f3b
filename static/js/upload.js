// Resumable uploads for the studio: parts go straight to the media store; the server checks them and
// turns them into a media item. Without this script the form posts the whole file the ordinary way.
(function () {
  "use strict";

  var PARALLEL = 3;
  var MAX_DELAY_MS = 30000;
  var MAX_TRIES_ONLINE = 8;
  var STALL_MS = 60000;
  var POLL_MS = 1500;

  class NetworkError extends Error {}
  class Cancelled extends Error {}
  class Refused extends Error {}
  class StoreUnreachable extends Error {}
  class RetryNow extends Error {}

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function whenOnline() {
    if (navigator.onLine) { return Promise.resolve(); }
    return new Promise(function (resolve) {
      window.addEventListener("online", function back() {
        window.removeEventListener("online", back);
        resolve();
      });
    });
  }

  function parse(xhr) {
    try { return JSON.parse(xhr.responseText); } catch (e) { return null; }
  }

  // One XMLHttpRequest: resolves with {status, data, xhr}; rejects with NetworkError when nothing came back.
  function send(method, url, options) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      var stalled = false;
      var timer = null;
      function watchdog() {
        clearTimeout(timer);
        timer = setTimeout(function () { stalled = true; xhr.abort(); }, STALL_MS);
      }
      xhr.open(method, url);
      Object.keys(options.headers || {}).forEach(function (name) {
        xhr.setRequestHeader(name, options.headers[name]);
      });
      xhr.upload.onprogress = function (event) {
        watchdog();
        if (options.onProgress) { options.onProgress(event.loaded); }
      };
      // Once the body is sent the server may take its time (the site streams a whole file on to the store).
      xhr.upload.onload = function () { clearTimeout(timer); };
      xhr.onload = function () { clearTimeout(timer); resolve({ status: xhr.status, data: parse(xhr), xhr: xhr }); };
      xhr.onerror = function () { clearTimeout(timer); reject(new NetworkError("network")); };
      xhr.onabort = function () {
        clearTimeout(timer);
        reject(stalled ? new NetworkError("stalled") : new Cancelled("cancelled"));
      };
      if (options.track) { options.track(xhr); }
      watchdog();
      xhr.send(options.body === undefined ? null : options.body);
    });
  }

  function refusal(answer) {
    var error = answer.data && answer.data.error;
    if (error && error.message) { return error.message; }
    if (answer.status >= 200 && answer.status < 400) {
      return "The server answered with a page instead of data; your session may have ended. Reload the page " +
        "and sign in again.";
    }
    return "The server answered with status " + answer.status + "; reload the page and try again.";
  }

  function storeRefusal(answer, number) {
    var match = /<Message>([^<]*)<\/Message>/.exec(answer.xhr.responseText || "");
    return "The store refused part " + number + " (status " + answer.status + (match ? ": " + match[1] : "") +
      "); choose the file again to start over.";
  }

  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }

  function setup(form) {
    var ui = {
      file: form.querySelector("#upload-file"),
      kind: form.querySelector("#upload-kind"),
      start: form.querySelector("#upload-start"),
      cancel: form.querySelector("#upload-cancel"),
      bar: document.getElementById("upload-bar"),
      percent: document.getElementById("upload-percent"),
      speed: document.getElementById("upload-speed"),
      status: document.getElementById("upload-status")
    };
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var base = form.getAttribute("data-uploads-url");
    var job = null;

    function say(text, isError) {
      ui.status.hidden = false;
      ui.status.textContent = text;
      ui.status.classList.toggle("error", Boolean(isError));
    }

    function showPercent(value, speedText) {
      var pct = Math.max(0, Math.min(100, Math.floor(value)));
      ui.bar.value = pct;
      ui.bar.textContent = pct + "%";
      ui.percent.textContent = pct + "%";
      ui.speed.textContent = speedText || "";
    }

    function call(method, url, body) {
      var headers = { "Accept": "application/json", "X-CSRFToken": csrf };
      if (body !== undefined) { headers["Content-Type"] = "application/json"; }
      return retrying(job, "Reaching the server", function () {
        return send(method, url, { headers: headers, body: body === undefined ? undefined : JSON.stringify(body),
                                   track: track });
      });
    }

    function track(xhr) {
      var current = job;
      if (!current) { return; }
      current.xhrs.add(xhr);
      xhr.addEventListener("loadend", function () { current.xhrs.delete(xhr); });
    }

    async function offline() {
      if (navigator.onLine) { return; }
      say("The connection dropped. The upload waits and goes on by itself when you are back online.");
      await whenOnline();
      say("Back online; continuing the upload…");
    }

    // Retry what failed for want of a connection: forever while the browser is offline, with backoff
    // (1, 2, 4 … 30 s) a limited number of times while it is online.
    async function retrying(current, label, attempt, onNetworkFailure) {
      var failures = 0;
      for (;;) {
        if (current && current.stopped) { throw new Cancelled("cancelled"); }
        try {
          return await attempt();
        } catch (error) {
          if (error instanceof RetryNow) { continue; }
          if (!(error instanceof NetworkError) || (current && current.stopped)) { throw error; }
          if (onNetworkFailure) { onNetworkFailure(); }
          ui.speed.textContent = "";
          if (!navigator.onLine) {
            await offline();
            continue;
          }
          failures += 1;
          if (failures >= MAX_TRIES_ONLINE) {
            throw new Refused(label + " failed " + failures + " times. Check your connection, then choose the " +
              "same file again to continue where it stopped.");
          }
          var wait = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, failures - 1));
          say(label + " failed; trying again in " + Math.round(wait / 1000) + " s.");
          await sleep(wait);
          await offline();
        }
      }
    }

    function storageKey(file) {
      return "expo-upload:" + form.getAttribute("data-pavilion-id") + ":" + file.name + ":" + file.size + ":" +
        file.lastModified;
    }

    function remember(current) {
      try { localStorage.setItem(current.key, current.id); } catch (e) { /* private browsing: no resume */ }
    }
    function forget(current) { try { localStorage.removeItem(current.key); } catch (e) { /* nothing kept */ } }
    function recall(current) { try { return localStorage.getItem(current.key); } catch (e) { return null; } }

    function render(current) {
      var inflight = 0;
      current.inflight.forEach(function (bytes) { inflight += bytes; });
      var sent = current.doneBytes + inflight;
      var now = Date.now();
      current.samples.push([now, sent]);
      while (current.samples.length > 2 && now - current.samples[0][0] > 5000) { current.samples.shift(); }
      var first = current.samples[0];
      var seconds = (now - first[0]) / 1000;
      var rate = seconds > 0.5 ? Math.max(0, sent - first[1]) / seconds : 0;
      var text = megabytes(sent) + " of " + megabytes(current.size);
      if (rate > 0) {
        var left = Math.max(0, current.size - sent) / rate;
        text += " · " + megabytes(rate) + "/s · about " +
          (left < 60 ? Math.ceil(left) + " s" : Math.ceil(left / 60) + " min") + " left";
      }
      showPercent(sent * 100 / current.size, text);
    }

    function adopt(current, state) {
      current.id = state.id;
      current.mediaId = state.media_id;
      current.partSize = state.part_size;
      current.etags = new Map();
      current.urls = current.urls || new Map();
      current.doneBytes = 0;
      (state.parts_stored || []).forEach(function (part) {
        current.etags.set(part.number, part.etag);
        current.doneBytes += part.size;
      });
      (state.parts || []).forEach(function (part) { current.urls.set(part.number, part.url); });
      current.resumed = current.etags.size > 0;
    }

    async function openUpload(current) {
      var saved = recall(current);
      if (saved) {
        var found = await call("GET", base + "/" + encodeURIComponent(saved));
        var state = found.data;
        if (found.status === 200 && state && state.size === current.size && state.state !== "aborted") {
          adopt(current, state);
          current.completed = state.state === "completed";
          return;
        }
        forget(current);
      }
      var started = await call("POST", base, { pavilion_id: form.getAttribute("data-pavilion-id"),
                                               filename: current.file.name, size: current.size, kind: current.kind });
      if (started.status !== 201 || !started.data) { throw new Refused(refusal(started)); }
      adopt(current, Object.assign({ parts_stored: [] }, started.data));
      remember(current);
    }

    async function refreshUrls(current) {
      var found = await call("GET", base + "/" + encodeURIComponent(current.id));
      if (found.status !== 200 || !found.data) { throw new Refused(refusal(found)); }
      (found.data.parts || []).forEach(function (part) { current.urls.set(part.number, part.url); });
    }

    function putPart(current, number) {
      var start = (number - 1) * current.partSize;
      var blob = current.file.slice(start, Math.min(current.size, start + current.partSize));
      var renewed = false;
      return retrying(current, "Sending part " + number, async function () {
        current.inflight.set(number, 0);
        var answer;
        try {
          answer = await send("PUT", current.urls.get(number), {
            body: blob, track: track,
            onProgress: function (loaded) { current.inflight.set(number, loaded); render(current); }
          });
        } finally {
          current.inflight.delete(number);
        }
        if (answer.status >= 200 && answer.status < 300) {
          current.anyStored = true;
          // Null when a store hides ETag from scripts; the server then checks the parts against the store alone.
          current.etags.set(number, answer.xhr.getResponseHeader("ETag"));
          current.doneBytes += blob.size;
          render(current);
          return;
        }
        if (answer.status === 403 && !renewed) {  // the presigned URL expired (they last an hour): get fresh ones
          renewed = true;
          await refreshUrls(current);
          throw new RetryNow("renewed");
        }
        if (answer.status >= 500 || answer.status === 408 || answer.status === 429) { throw new NetworkError("busy"); }
        throw new Refused(storeRefusal(answer, number));
      }, function () {
        // The first PUT failing three times on a working connection: the store is out of this browser's reach
        // (CORS, a firewall); one or two failures are only a flaky network, which the retries ride out.
        if (!current.anyStored && !current.resumed && navigator.onLine) {
          current.firstFailures = (current.firstFailures || 0) + 1;
          if (current.firstFailures >= 3) { throw new StoreUnreachable("store"); }
        }
      });
    }

    async function sendParts(current) {
      var count = Math.ceil(current.size / current.partSize);
      var queue = [];
      for (var n = 1; n <= count; n += 1) { if (!current.etags.has(n)) { queue.push(n); } }
      if (queue.length && !current.anyStored && !current.resumed) {
        // The first part goes alone: if it cannot reach the store at all, the file goes through the site instead.
        await putPart(current, queue.shift());
      }
      var failure = null;
      async function lane() {
        while (queue.length && !failure) {
          var number = queue.shift();
          try {
            await putPart(current, number);
          } catch (error) {
            if (!failure) { failure = error; current.xhrs.forEach(function (xhr) { xhr.abort(); }); }
          }
        }
      }
      var lanes = [];
      for (var i = 0; i < PARALLEL; i += 1) { lanes.push(lane()); }
      await Promise.all(lanes);
      if (failure) { throw failure; }
    }

    async function finish(current) {
      for (var round = 0; round < 3; round += 1) {
        var parts = [];
        current.etags.forEach(function (etag, number) {
          parts.push(etag ? { number: number, etag: etag } : { number: number });
        });
        parts.sort(function (a, b) { return a.number - b.number; });
        say("All parts are stored; checking them on the server…");
        var answer = await call("POST", base + "/" + encodeURIComponent(current.id) + "/complete", { parts: parts });
        if (answer.status === 202 && answer.data) { return answer.data; }
        var code = answer.data && answer.data.error && answer.data.error.code;
        if (answer.status !== 409 || code !== "parts_missing" || round === 2) {
          if (answer.status >= 400 && answer.status < 500 && code !== "parts_missing") { forget(current); }
          throw new Refused(refusal(answer));
        }
        // The store lacks some parts (a PUT that seemed to fail, a store that lost them): send those again.
        var found = await call("GET", base + "/" + encodeURIComponent(current.id));
        if (found.status !== 200 || !found.data) { throw new Refused(refusal(found)); }
        adopt(current, found.data);
        render(current);
        await sendParts(current);
      }
      return null;
    }

    async function watch(current, mediaId) {
      var url = form.getAttribute("data-status-url").replace("MEDIA_ID", encodeURIComponent(mediaId));
      for (;;) {
        var answer = await retrying(current, "Checking the processing", function () {
          return send("GET", url, { headers: { "Accept": "application/json" }, track: track });
        });
        var media = answer.data;
        if (answer.status !== 200 || !media || !media.status) { throw new Refused(refusal(answer)); }
        showPercent(media.status === "ready" ? 100 : media.progress || 0, "");
        if (media.status === "ready") {
          say("Ready: the file is processed. Go back to the editor to place it in a block.");
          return;
        }
        if (media.status === "failed") {
          say("Processing failed: " + (media.error ? media.error.message : "no reason was given."), true);
          return;
        }
        say(media.status === "queued" ? "Uploaded. Waiting for processing to start…" :
          "Processing: " + (media.progress || 0) + "%" + (media.detail ? " (" + media.detail + ")" : ""));
        await sleep(POLL_MS);
      }
    }

    async function throughSite(current) {
      if (current.id) {
        var id = current.id;
        current.id = null;
        send("DELETE", base + "/" + encodeURIComponent(id), { headers: { "X-CSRFToken": csrf } }).catch(function () {});
      }
      forget(current);
      say("This browser cannot reach the media store directly; sending the file through the site instead.");
      current.inflight = new Map();
      current.doneBytes = 0;
      current.samples = [];
      var data = new FormData();
      data.append("file", current.file);
      if (current.kind) { data.append("kind", current.kind); }
      var answer;
      try {
        answer = await send("POST", form.getAttribute("data-whole-url"), {
          body: data, headers: { "Accept": "application/json", "X-CSRFToken": csrf }, track: track,
          onProgress: function (loaded) { current.inflight.set(0, loaded); render(current); }
        });
      } catch (error) {
        if (error instanceof NetworkError) {
          throw new Refused("The connection dropped while the file was sent through the site; choose it again " +
            "to retry.");
        }
        throw error;
      }
      if (answer.status !== 202 || !answer.data) { throw new Refused(refusal(answer)); }
      return answer.data;
    }

    async function run(current) {
      var media;
      try {
        await openUpload(current);
        if (current.completed) {
          media = { id: current.mediaId };
        } else {
          say(current.resumed ? "Continuing the earlier upload of this file: " + current.etags.size + " of " +
            Math.ceil(current.size / current.partSize) + " parts were already stored." : "Uploading…");
          render(current);
          await sendParts(current);
          media = await finish(current);
        }
      } catch (error) {
        if (!(error instanceof StoreUnreachable)) { throw error; }
        media = await throughSite(current);
      }
      forget(current);
      current.sent = true;
      ui.cancel.hidden = true;
      showPercent(100, "");
      await attach(media.id);
      await watch(current, media.id);
    }

    // Opened from a block of the editor: the new item goes into that block of the draft.
    async function attach(mediaId) {
      var url = form.getAttribute("data-attach-url");
      if (!url) { return; }
      var answer = await call("POST", url, { media_id: mediaId });
      if (answer.status !== 200) { throw new Refused(refusal(answer)); }
    }

    async function cancel() {
      var current = job;
      if (!current) { return; }
      current.stopped = true;
      current.xhrs.forEach(function (xhr) { xhr.abort(); });
      forget(current);
      if (current.id) {
        var headers = { "Accept": "application/json", "X-CSRFToken": csrf };
        var answer = await send("DELETE", base + "/" + encodeURIComponent(current.id), { headers: headers })
          .catch(function () { return null; });
        if (answer && answer.status !== 204) { say(refusal(answer), true); return; }
      }
      say("Upload cancelled; the parts sent so far were deleted.");
    }

    function busy(on) {
      ui.start.disabled = on;
      ui.file.disabled = on;
      ui.kind.disabled = on;
      ui.cancel.hidden = !on;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = ui.file.files[0];
      if (!file) { say("Choose a file to upload.", true); return; }
      if (!file.size) { say("The chosen file is empty; choose another one.", true); return; }
      job = { file: file, size: file.size, kind: ui.kind.value, key: storageKey(file), id: null, stopped: false,
              xhrs: new Set(), inflight: new Map(), samples: [], doneBytes: 0, anyStored: false, resumed: false };
      var current = job;
      busy(true);
      showPercent(0, "");
      run(current).catch(function (error) {
        if (error instanceof Cancelled || current.stopped) { return; }
        say(error instanceof Refused ? error.message : "The upload stopped unexpectedly (" + error.message +
          "); choose the same file again to continue.", true);
      }).finally(function () {
        if (job === current) { job = null; busy(false); }
      });
    });

    ui.cancel.addEventListener("click", function () {
      cancel().finally(function () { job = null; busy(false); });
    });

    window.addEventListener("beforeunload", function (event) {
      if (job && !job.stopped && !job.sent) { event.preventDefault(); event.returnValue = ""; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (form && window.XMLHttpRequest && window.Promise && window.Map) { setup(form); }
  });
})();
