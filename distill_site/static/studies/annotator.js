// Annotator pages: number keys rate the focused scale, one submission per page, the code and the redirect.
(function () {
  "use strict";

  var form = document.querySelector("form.rating-form");
  if (form && form.classList.contains("rated")) {
    form = null; // an item already rated, shown read-only: nothing to answer
  }
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

    // Answers not yet sent survive a reload of this item's page (and only of this item's page: the key is
    // its URL, and the form itself has autocomplete="off", so the browser restores nothing onto another item).
    var draftKey = form.dataset.draftKey ? "draft:" + form.dataset.draftKey : null;
    var storage = null;
    try { storage = window.sessionStorage; } catch (e) { storage = null; }
    var comment = form.querySelector("textarea[name=comment]");
    if (storage && draftKey) {
      var saved = null;
      try { saved = JSON.parse(storage.getItem(draftKey) || "null"); } catch (e) { saved = null; }
      var untouched = !form.querySelector("input[type=radio]:checked") && !(comment && comment.value);
      if (saved && untouched) {
        Object.keys(saved.values || {}).forEach(function (name) {
          var input = form.querySelector('input[type=radio][name="' + name + '"][value="' + saved.values[name] + '"]');
          if (input) input.checked = true;
        });
        if (comment && saved.comment) comment.value = saved.comment;
      }
      var saveDraft = function () {
        var values = {};
        Array.prototype.forEach.call(form.querySelectorAll("input[type=radio]:checked"), function (input) {
          values[input.name] = input.value;
        });
        storage.setItem(draftKey, JSON.stringify({ values: values, comment: comment ? comment.value : "" }));
      };
      form.addEventListener("change", saveDraft);
      form.addEventListener("input", saveDraft);
      form.addEventListener("submit", function () { storage.removeItem(draftKey); });
    }

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

  // The other pages' forms (consent, instructions, about you) are sent once too.
  Array.prototype.forEach.call(document.querySelectorAll("form.stage-form"), function (stageForm) {
    stageForm.addEventListener("submit", function (event) {
      if (stageForm.dataset.submitted) {
        event.preventDefault();
        return;
      }
      stageForm.dataset.submitted = "true";
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) delete stageForm.dataset.submitted;
    });
  });

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
