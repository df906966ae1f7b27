// Decision items: every click on an answer or a confidence, and the submission, with the milliseconds since the
// page was shown, go with the form (the server keeps them per step); hiding and showing the page are noted too.
(function () {
  "use strict";

  var form = document.querySelector("form[data-events]");
  if (!form) return;
  var field = form.querySelector("input[name=events]");
  var start = performance.now();
  var events = [];
  var note = function (kind, value) {
    if (events.length >= 300) return;
    events.push({ t: Math.round(performance.now() - start), kind: kind, value: value || "" });
    field.value = JSON.stringify(events);
  };
  form.addEventListener("click", function (event) {
    var input = event.target.closest ? event.target.closest("input[type=radio]") : null;
    if (input && input.dataset.kind) note(input.dataset.kind, input.value);
  });
  var sent = false; // annotator.js lets one submission through per page; note only that one
  form.addEventListener("submit", function () {
    if (!sent) note("submit", "");
    sent = true;
  });
  document.addEventListener("visibilitychange", function () {
    note(document.visibilityState === "hidden" ? "hidden" : "shown", "");
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { start = performance.now(); events = []; field.value = "[]"; sent = false; }
  });
})();
