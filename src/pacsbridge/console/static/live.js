/* The console's script. Live regions: an element with data-live-src is replaced by a fresh copy
   of that fragment every data-live-seconds. Ours, plain, no dependencies (docs/console.md).
   A refresh is skipped while focus is inside the region (a keyboard user keeps their
   place) or the tab is hidden; a button pauses it (WCAG 2.2.2). */
(function () {
  "use strict";

  function start(region) {
    var seconds = Number(region.getAttribute("data-live-seconds")) || 5;
    var toggle = document.querySelector('[data-live-toggle="' + region.id + '"]');
    var stamp = document.querySelector('[data-live-stamp="' + region.id + '"]');
    var paused = false;
    var timer = null;

    function say(text) { if (stamp) { stamp.textContent = text; } }
    function schedule() { timer = window.setTimeout(refresh, seconds * 1000); }

    function refresh() {
      if (paused || document.hidden || region.contains(document.activeElement)) {
        schedule();
        return;
      }
      fetch(region.getAttribute("data-live-src"), {
        credentials: "same-origin", redirect: "manual", headers: { "Accept": "text/html" }
      }).then(function (response) {
        if (response.type === "opaqueredirect") { throw new Error("signed out"); }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (html) {
        region.innerHTML = html;
        region.removeAttribute("data-stale");
        say("Updated " + new Date().toLocaleTimeString());
      }).catch(function (error) {
        region.setAttribute("data-stale", "true");
        say(error.message === "signed out"
          ? "Your session has ended: reload the page to sign in again"
          : "Could not update (" + error.message + "): showing the last known state");
      }).then(schedule);
    }

    if (toggle) {
      toggle.addEventListener("click", function () {
        paused = !paused;
        toggle.setAttribute("aria-pressed", String(paused));
        toggle.textContent = paused ? "Resume live updates" : "Pause live updates";
        if (!paused) { window.clearTimeout(timer); refresh(); }
      });
    }
    schedule();
  }

  document.querySelectorAll("[data-live-src]").forEach(start);

  // Forms that cannot be undone ask first (data-confirm); without the script they just go.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // A refused form: put the keyboard and screen reader on the list of what to fix.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
}());
