// Keyboard shortcuts for a long review queue (ignored while typing, except Ctrl+Enter in the reason):
// A approves (after a confirmation), R moves to the reason, Ctrl+Enter rejects with it, N opens the next submission.
(function () {
  "use strict";

  var form = document.getElementById("decision");
  if (!form) { return; }
  var reason = form.querySelector("#reason");
  var approve = form.querySelector("button[value='approve']");
  var reject = form.querySelector("button[value='reject']");

  approve.addEventListener("click", function (event) {
    if (!window.confirm(approve.getAttribute("data-confirm"))) { event.preventDefault(); }
  });

  document.addEventListener("keydown", function (event) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName) || event.target.isContentEditable;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target === reason) {
      event.preventDefault();
      reject.click();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key.toLowerCase();
    if (key === "a") { event.preventDefault(); approve.click(); }
    if (key === "r") { event.preventDefault(); reason.focus(); }
    if (key === "n") {
      var next = document.getElementById("next-submission");
      if (next) { event.preventDefault(); next.click(); }
    }
  });
})();
