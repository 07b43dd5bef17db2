// Refreshes a lead page's figures (queue health, on call) by fetching its server-rendered fragment into
// the element that names it in data-refresh-url; the page works without it.
(function () {
  "use strict";
  var box = document.querySelector("[data-refresh-url]");
  if (!box) { return; }
  var url = box.dataset.refreshUrl;
  var seconds = Math.max(5, parseInt(box.dataset.refreshSeconds || "15", 10));
  function refresh() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        // The fragment is rendered by the server with autoescaping, like the page itself.
        box.innerHTML = html;
        box.dataset.refreshedAt = new Date().toISOString();
      })
      .catch(function () { box.dataset.refreshFailed = new Date().toISOString(); });
  }
  setInterval(refresh, seconds * 1000);
})();
