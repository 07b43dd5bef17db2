// Recomputes the strike ladder's what-if as the lead edits the strikes settings, without a page reload.
// Without this file the form still works: "Preview the strike ladder" posts the form and shows the figures.
(function () {
  "use strict";
  var form = document.getElementById("policy-form");
  var box = document.getElementById("strikes-whatif");
  if (!form || !box) { return; }
  var PREFIX = "s:strikes.";
  var timer = null;
  var latest = 0;
  function update() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (name.indexOf(PREFIX) === 0) { params.set(name, value); }  // the last value wins, as on the server
    });
    var ticket = ++latest;
    fetch(box.dataset.url + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (ticket !== latest) { return; }  // an older answer arriving late must not win
        box.innerHTML = html;  // rendered by the server with autoescaping
      });
  }
  function schedule(event) {
    if (!event.target.name || event.target.name.indexOf(PREFIX) !== 0) { return; }
    clearTimeout(timer);
    timer = setTimeout(update, 300);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
