// The attempt page's countdown to the deadline the server set; the server still refuses late answers.
(function () {
  "use strict";
  var box = document.querySelector(".countdown[data-deadline]");
  if (!box) { return; }
  var deadline = Date.parse(box.getAttribute("data-deadline"));
  var out = box.querySelector(".remaining");
  if (!out || isNaN(deadline)) { return; }
  function tick() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    var minutes = Math.floor(left / 60), seconds = left % 60;
    out.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    if (left === 0) {
      box.classList.add("late");
      out.textContent = box.getAttribute("data-expired-text");
      return;
    }
    window.setTimeout(tick, 1000);
  }
  tick();
}());
