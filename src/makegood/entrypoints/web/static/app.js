// Progressive enhancement only: every page works without this file.
// 1. A form marked data-upload-progress sends its files with a progress bar.
// 2. The error summary of a form sent back takes the focus, so a screen reader reads it first.
// 3. A button marked data-print prints the page (hidden without this file: the browser's own
//    print command does the same).
// (htmx swaps replace only the content below the control the user operated: focus stays there,
// and the new count is announced by an aria-live status line.)
(function () {
  "use strict";
  function withProgress(form) {
    form.addEventListener("submit", function (event) {
      var files = form.querySelector("input[type=file]");
      if (!files || !files.files || files.files.length === 0 || !window.FormData) { return; }
      event.preventDefault();
      var bar = form.querySelector("progress.upload");
      var status = form.querySelector(".upload-status");
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
      // getAttribute: form.action would be the buttons named "action".
      var target = new URL(form.getAttribute("action"), window.location.href).href;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", target);
      if (bar) { bar.hidden = false; bar.value = 0; }
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && bar) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          if (status) { status.textContent = bar.value + "%"; }
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.responseURL && xhr.responseURL.split("#")[0] !== target && xhr.status < 400) {
          window.location.assign(xhr.responseURL);
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(data);
    });
  }
  document.querySelectorAll("form[data-upload-progress]").forEach(withProgress);
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
