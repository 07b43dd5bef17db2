// Progressive enhancement only: every action works without this file.
document.addEventListener("DOMContentLoaded", function () {
  var reveal = document.getElementById("reveal");
  var text = document.getElementById("post-text");
  if (reveal && text) {
    reveal.addEventListener("click", function () {
      text.classList.remove("blurred");
      text.dataset.blurred = "false";
      reveal.hidden = true;
      var why = document.getElementById("blur-why");
      if (why) { why.hidden = true; }
    });
  }
  var form = document.getElementById("vote-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      var ruleChosen = form.querySelector("input[name=rule]:checked");
      if (submitter && submitter.value === "remove" && !ruleChosen) {
        event.preventDefault();
        document.getElementById("vote-error").hidden = false;
      }
    });
  }
});
