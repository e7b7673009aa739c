// Ibiki dashboard: live updates over Server-Sent Events. Each event only says what changed;
// the elements that show it listen for "live-<kind>" on the body and fetch their new state.
// Bursts (a campaign's status reports) are merged: at most one refresh per kind every 400 ms,
// always including the last event of the burst.
(function () {
  "use strict";
  // Times come in UTC; each <time datetime> is shown in the viewer's own time zone (the UTC
  // text stays as its title), on load and in every fragment htmx swaps in.
  function localize(root) {
    if (!root || !root.querySelectorAll || !window.Intl) return;
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = el.textContent;
      el.textContent = d.toLocaleString(undefined, {year: "numeric", month: "short", day: "numeric",
        hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"});
      el.dataset.local = "1";
    });
  }
  localize(document);
  document.body.addEventListener("htmx:afterSwap", function (e) { localize(document); });
})();
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
