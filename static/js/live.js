// Pushed live updates (studio/live). The body opens one Server-Sent Events
// stream (htmx's SSE extension, sse-connect); every poller on the page also
// listens for "sse:change" and refreshes itself through its usual endpoint.
// While the stream flows, the pollers' timed requests are skipped; when it
// cannot open, drops, or goes quiet (a buffering proxy), polling carries on
// as before, and once the stream is back every poller catches up once.
//
// The studio page's stream (?cards=1) also carries "update": the answer of
// the gallery poller's own endpoint, rendered by the server once for this
// viewer, with the cursor it applies from. When this tab's #gallery-cursor is
// that cursor, it is swapped in as the poller's response would be (out of
// band, nothing fetched); otherwise the poller asks for itself, as on "change".
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

  function galleryCursor() {
    var input = document.getElementById("gallery-cursor");
    var value = input ? parseInt(input.value, 10) : NaN;
    return isNaN(value) ? null : value;
  }
  // The change number an sse:change carries: ours ({seq}) or the stream's (MessageEvent).
  function seqOf(event) {
    var detail = event && event.detail;
    if (!detail) return null;
    if (typeof detail.seq === "number") return detail.seq;
    if (typeof detail.data !== "string") return null;
    try { var seq = JSON.parse(detail.data).seq; } catch (e) { return null; }
    return typeof seq === "number" ? seq : null;
  }

  // The gallery poller's own request in flight: its answer moves the cursor, so
  // an update waits for it (applying both would add a new card twice). Its end
  // is heard on the XHR: the answer may replace the poller, whose htmx events
  // then no longer reach the document.
  var inFlight = null, waiting = [];
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id !== "gallery-poller" || !event.detail.xhr) return;
    var xhr = inFlight = event.detail.xhr;
    xhr.addEventListener("loadend", function () {
      if (inFlight !== xhr) return;
      inFlight = null;
      var held = waiting;
      waiting = [];
      held.forEach(applyToGallery);
    });
  });

  function pushed(event) {
    noted();
    var update;
    try { update = JSON.parse(event.data); } catch (e) { return; }
    var poller = document.getElementById("gallery-poller");
    pollers().forEach(function (el) {
      // The bell, comments...: not in this answer, they ask as on "change".
      if (el !== poller) htmx.trigger(el, "sse:change", { seq: update.seq });
    });
    applyToGallery(update);
  }

  function applyToGallery(update) {
    var poller = document.getElementById("gallery-poller");
    if (!poller) return;
    if (inFlight) { waiting.push(update); return; }
    var cursor = galleryCursor();
    if (cursor === update.from) {
      // hx-swap="none" + out-of-band fragments, exactly as the poller's own answer.
      htmx.swap(poller, update.html, { swapStyle: "none", swapDelay: 0,
        settleDelay: htmx.config.defaultSettleDelay }, { eventInfo: { target: poller, pushed: true } });
    } else if (cursor === null || cursor < update.to) {
      htmx.trigger(poller, "sse:change", { seq: update.seq });
    }
  }

  document.addEventListener("htmx:sseOpen", function (event) {
    var source = event.detail.source;
    // "hello" comes first on a stream that really flows; "ping" keeps it honest.
    source.addEventListener("hello", heard);
    source.addEventListener("ping", heard);
    source.addEventListener("change", noted);
    source.addEventListener("update", pushed);
  });
  document.addEventListener("htmx:sseError", function () { setState("down"); });
  document.addEventListener("htmx:sseClose", function () { setState("down"); });

  // A poller's timed request (no triggering event) is not needed while pushed.
  // Nor a refresh of the gallery for a change this page already has (pushed).
  document.addEventListener("htmx:confirm", function (event) {
    var triggering = event.detail.triggeringEvent;
    if (triggering && triggering.type === "sse:change" && event.detail.elt.id === "gallery-poller") {
      var seq = seqOf(triggering), cursor = galleryCursor();
      if (seq !== null && cursor !== null && cursor >= seq) event.preventDefault();
      return;
    }
    if (triggering || !streaming()) return;
    var trigger = event.detail.elt.getAttribute("hx-trigger") || "";
    if (trigger.indexOf("sse:change") >= 0) event.preventDefault();
  });

  // A stream that went quiet: back to polling until it speaks again.
  setInterval(function () {
    if (state === "open" && !streaming()) setState("down");
  }, 5000);
})();
