// Recomputes the what-if figures as the lead changes the threshold or window, without a page reload.
// Without this file the form still works: "Show" reloads the page with the new figures.
(function () {
  "use strict";
  var form = document.getElementById("tuning-form");
  var box = document.getElementById("whatif");
  if (!form || !box) { return; }
  var timer = null;
  var latest = 0;
  function update() {
    var params = new URLSearchParams(new FormData(form));
    var ticket = ++latest;
    fetch(form.dataset.whatifUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (ticket !== latest) { return; }  // an older answer arriving late must not win
        box.innerHTML = html;  // rendered by the server with autoescaping
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", form.action + "?" + params.toString());
        }
      });
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  }
  ["threshold", "days"].forEach(function (id) {
    var input = document.getElementById(id);
    if (input) {
      input.addEventListener("input", schedule);
      input.addEventListener("change", schedule);
    }
  });
})();
