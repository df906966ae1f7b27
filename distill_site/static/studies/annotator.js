// Annotator pages: number keys rate the focused scale, one submission per page, the code and the redirect.
(function () {
  "use strict";

  var form = document.querySelector("form.rating-form");
  if (form) {
    var scales = Array.prototype.slice.call(form.querySelectorAll("fieldset.scale"));
    var submit = form.querySelector("button[type=submit]");

    var firstInput = function (scale) {
      return scale.querySelector("input:checked") || scale.querySelector("input[type=radio]");
    };

    // A number key answers the scale that holds the focus (or the first one left unanswered),
    // then moves on to the next scale, and from the last one to the submit button.
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || !/^[0-9]$/.test(event.key)) return;
      var target = event.target;
      if (target.matches("textarea, select, input:not([type=radio])")) return;
      var scale = target.closest ? target.closest("fieldset.scale") : null;
      if (!scale) {
        scale = scales.filter(function (s) { return !s.querySelector("input:checked"); })[0];
      }
      if (!scale) return;
      var input = scale.querySelector('input[type=radio][value="' + event.key + '"]');
      if (!input) return;
      event.preventDefault();
      input.checked = true;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      var next = scales[scales.indexOf(scale) + 1];
      (next ? firstInput(next) : submit).focus();
    });

    // One submission per page: a double click or a second Enter sends nothing more.
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted) {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "true";
      submit.setAttribute("aria-disabled", "true");
      submit.textContent = "Saving…";
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        delete form.dataset.submitted;
        submit.removeAttribute("aria-disabled");
      }
    });
  }

  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) summary.focus();

  var copy = document.querySelector("[data-copy]");
  if (copy && navigator.clipboard) {
    copy.addEventListener("click", function () {
      var text = document.getElementById(copy.dataset.copy).textContent.trim();
      var status = document.querySelector(".copy-status");
      navigator.clipboard.writeText(text).then(
        function () { status.textContent = "Copied."; },
        function () { status.textContent = "Copy did not work; please select the code."; }
      );
    });
  } else if (copy) {
    copy.hidden = true;
  }

  var redirect = document.querySelector("[data-redirect-url]");
  if (redirect) {
    var seconds = parseInt(redirect.dataset.redirectSeconds, 10);
    var countdown = redirect.querySelector("[data-countdown]");
    var tick = function () {
      if (seconds <= 0) {
        window.location.assign(redirect.dataset.redirectUrl);
        return;
      }
      countdown.textContent = String(seconds);
      seconds -= 1;
      window.setTimeout(tick, 1000);
    };
    tick();
  }
})();
