// The progress bar of an import at work: asks where it stands twice a
// second and moves the bar; once the work is done, shows the page again.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  function ask() {
    fetch(box.getAttribute("data-progress-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (progress) {
        if (!progress) { setTimeout(ask, 2000); return; }
        bar.max = progress.total;
        bar.value = progress.done;
        text.textContent = progress.done + " of " + progress.total + " rows";
        if (progress.state === "previewing" || progress.state === "applying") {
          setTimeout(ask, 500);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(ask, 2000); });
  }
  setTimeout(ask, 500);
})();
