// Ibiki dashboard: live updates over Server-Sent Events. Each event only says what changed;
// the elements that show it listen for "live-<kind>" on the body and fetch their new state.
// Bursts (a campaign's status reports) are merged: at most one refresh per kind every 400 ms,
// always including the last event of the burst.
(function () {
  "use strict";
  var url = document.body.dataset.events;
  if (!url || !window.EventSource) return;
  var source = new EventSource(url);
  var pending = {};
  ["message", "delivery", "campaign"].forEach(function (kind) {
    source.addEventListener(kind, function () {
      if (pending[kind]) return;
      pending[kind] = setTimeout(function () {
        pending[kind] = null;
        document.body.dispatchEvent(new CustomEvent("live-" + kind));
      }, 400);
    });
  });
  source.addEventListener("open", function () { document.body.dataset.live = "on"; });
  source.addEventListener("error", function () { document.body.dataset.live = "off"; });
  window.addEventListener("beforeunload", function () { source.close(); });
})();
