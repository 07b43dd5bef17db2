// Progressive enhancement only: every action works without this file.
// The juror's screen: reveal, keyboard voting, the next case swapped in without a page load,
// and a session timer that suggests a break; on the lead's queue, a box that selects every case.
(function () {
  "use strict";

  var pendingRemove = false;
  var busy = false;

  function byId(id) { return document.getElementById(id); }

  function announce(message) {
    var live = byId("live");
    if (!live || !message) { return; }
    live.textContent = message;
    live.hidden = false;
  }

  function reveal() {
    var text = byId("post-text");
    var button = byId("reveal");
    if (!text) { return; }
    text.classList.remove("blurred");
    text.dataset.blurred = "false";
    // The near-copies beside it were blurred with it.
    document.querySelectorAll(".variants .blurred").forEach(function (variant) {
      variant.classList.remove("blurred");
    });
    if (button) { button.hidden = true; }
    var why = byId("blur-why");
    if (why) { why.hidden = true; }
  }

  function chosenRule(form) {
    return form.querySelector("input[name=rule]:checked");
  }

  function showRuleMissing(form) {
    var error = byId("vote-error");
    if (error) { error.hidden = false; }
    var first = form.querySelector("input[name=rule]");
    if (first) { first.focus(); }
  }

  // Send a vote or a skip with fetch and swap the next case in; fall back to a plain submit.
  function send(form, decision) {
    if (busy) { return; }
    busy = true;
    var body = new FormData(form);
    if (decision) { body.set("decision", decision); }
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      busy = false;
      pendingRemove = false;
      if (!data.case_id || !data.html) {
        window.location.assign(data.url || "/");
        return;
      }
      var slot = byId("case-slot");
      if (!slot) { window.location.assign(data.url); return; }
      // Rendered by the server with autoescaping: the post's text arrives as text.
      slot.innerHTML = data.html;
      document.title = data.title || document.title;
      window.history.pushState({ caseId: data.case_id }, "", data.url);
      announce(data.message);
      var heading = byId("case-heading");
      if (heading) { heading.focus(); }
    }).catch(function () {
      busy = false;
      // Let the server answer with a full page (it shows why, e.g. the seat expired).
      if (decision) {
        var field = document.createElement("input");
        field.type = "hidden"; field.name = "decision"; field.value = decision;
        form.appendChild(field);
      }
      HTMLFormElement.prototype.submit.call(form);
    });
  }

  function vote(decision) {
    var form = byId("vote-form");
    if (!form) { return; }
    if (decision === "remove" && !chosenRule(form)) {
      pendingRemove = true;
      showRuleMissing(form);
      var prompt = byId("rule-prompt");
      if (prompt) { prompt.hidden = false; }
      return;
    }
    send(form, decision);
  }

  function pickRule(key) {
    var form = byId("vote-form");
    if (!form) { return; }
    var input = form.querySelector("input[name=rule][data-key='" + key + "']");
    if (!input) { return; }
    input.checked = true;
    var error = byId("vote-error");
    if (error) { error.hidden = true; }
    if (pendingRemove) { send(form, "remove"); }
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) { return; }
    if (target.id === "reveal") { reveal(); }
    if (target.id === "break-dismiss") { dismissBreak(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id === "vote-form") {
      event.preventDefault();
      var submitter = event.submitter;
      vote(submitter ? submitter.value : "keep");
    } else if (form.id === "skip-form") {
      event.preventDefault();
      send(form, null);
    }
  });

  // Single-key shortcuts can be turned off (WCAG 2.1.4), per browser, on the profile page.
  var SHORTCUTS_KEY = "jury-shortcuts";

  function shortcutsOn() {
    try { return window.localStorage.getItem(SHORTCUTS_KEY) !== "off"; } catch (e) { return true; }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || !shortcutsOn()) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    var type = (event.target.type || "").toLowerCase();
    if (tag === "textarea" || tag === "select" || (tag === "input" && type !== "radio" && type !== "checkbox")) {
      return;
    }
    var key = event.key.toLowerCase();
    var handled = true;
    if (key === "v" && byId("reveal")) { reveal(); }
    else if (key === "k" && byId("vote-form")) { vote("keep"); }
    else if (key === "r" && byId("vote-form")) { vote("remove"); }
    else if (key === "s" && byId("skip-form")) { send(byId("skip-form"), null); }
    else if (key >= "1" && key <= "8" && byId("vote-form")) { pickRule(key); }
    else if (key === "n" && byId("next-form")) { byId("next-form").submit(); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });

  window.addEventListener("popstate", function () { window.location.reload(); });

  // The session timer: minutes since the first page of this browser session; a break hint after a while.
  var START_KEY = "jury-session-start";
  var DISMISS_KEY = "jury-break-dismissed";

  function dismissBreak() {
    var hint = byId("break-hint");
    if (hint) { hint.hidden = true; }
    try { window.sessionStorage.setItem(DISMISS_KEY, String(Date.now())); } catch (e) { /* private mode */ }
  }

  function tick() {
    var timer = byId("session-timer");
    if (!timer) { return; }
    var start;
    try {
      start = parseInt(window.sessionStorage.getItem(START_KEY), 10);
      if (!start) { start = Date.now(); window.sessionStorage.setItem(START_KEY, String(start)); }
    } catch (e) { start = start || Date.now(); }
    var minutes = Math.floor((Date.now() - start) / 60000);
    timer.textContent = (timer.dataset.label || "Session") + " " + minutes + " " + (timer.dataset.unit || "min");
    timer.hidden = false;
    var limit = parseInt(timer.dataset.breakMinutes, 10) || 50;
    var dismissed = 0;
    try { dismissed = parseInt(window.sessionStorage.getItem(DISMISS_KEY), 10) || 0; } catch (e) { dismissed = 0; }
    var sinceDismissed = dismissed ? (Date.now() - dismissed) / 60000 : Infinity;
    var hint = byId("break-hint");
    // Suggested again every `limit` minutes after being dismissed.
    if (hint && minutes >= limit && sinceDismissed >= limit) { hint.hidden = false; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = byId("shortcuts-toggle");
    if (toggle) {
      toggle.checked = shortcutsOn();
      byId("shortcuts-card").hidden = false;
      toggle.addEventListener("change", function () {
        try { window.localStorage.setItem(SHORTCUTS_KEY, toggle.checked ? "on" : "off"); } catch (e) { /* ignore */ }
      });
    }
    // The lead's queue: one box selects every case on the page.
    var all = byId("select-all");
    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        var boxes = all.form.querySelectorAll("input[type=checkbox][name=case_id]");
        for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
      });
    }
    tick();
    window.setInterval(tick, 30000);
  });
}());
