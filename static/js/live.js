// Pushed live updates (studio/live). The body opens one Server-Sent Events
// stream (htmx's SSE extension, sse-connect); every poller on the page also
// listens for "sse:change" and refreshes itself through its usual endpoint.
// While the stream flows, the pollers' timed requests are skipped; when it
// cannot open, drops, or goes quiet (a buffering proxy), polling carries on
// as before, and once the stream is back every poller catches up once.
(function () {
  "use strict";
  var QUIET_MS = 40000; // the server sends a ping every 15 s
  var state = "down";
  var lastHeard = 0;

  function streaming() {
    return state === "open" && Date.now() - lastHeard < QUIET_MS;
  }
  function pollers() {
    return document.querySelectorAll('[hx-trigger*="sse:change"]');
  }
  function setState(next) {
    state = next;
    document.body.dataset.live = next;
  }
  function catchUp() {
    pollers().forEach(function (el) { htmx.trigger(el, "sse:change", { catchUp: true }); });
  }
  function heard() {
    lastHeard = Date.now();
    if (state !== "open") {
      setState("open");
      catchUp(); // whatever changed while the stream was away
    }
  }

  function noted() { lastHeard = Date.now(); }

  document.addEventListener("htmx:sseOpen", function (event) {
    var source = event.detail.source;
    // "hello" comes first on a stream that really flows; "ping" keeps it honest.
    source.addEventListener("hello", heard);
    source.addEventListener("ping", heard);
    source.addEventListener("change", noted);
  });
  document.addEventListener("htmx:sseError", function () { setState("down"); });
  document.addEventListener("htmx:sseClose", function () { setState("down"); });

  // A poller's timed request (no triggering event) is not needed while pushed.
  document.addEventListener("htmx:confirm", function (event) {
    if (event.detail.triggeringEvent || !streaming()) return;
    var trigger = event.detail.elt.getAttribute("hx-trigger") || "";
    if (trigger.indexOf("sse:change") >= 0) event.preventDefault();
  });

  // A stream that went quiet: back to polling until it speaks again.
  setInterval(function () {
    if (state === "open" && !streaming()) setState("down");
  }, 5000);
})();
