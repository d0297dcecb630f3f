// The Mavi page refreshes itself: every data-refresh seconds it fetches the same URL again (the same
// server-rendered, escaped HTML a reload would give) and swaps the content. It pauses while the tab is
// hidden, and reloads the page when the session has ended (the server then shows its login page).
(function () {
  "use strict";
  var main = document.getElementById("content");
  if (!main || !main.dataset.refresh) { return; }
  var every = Math.max(2, parseInt(main.dataset.refresh, 10) || 5) * 1000;
  function refresh() {
    if (document.hidden) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (answer.status === 401) { window.location.reload(); return null; }
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("content");
        if (fresh) { main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes)); }
      })
      .catch(function () { /* the bridge is restarting: try again at the next tick */ });
  }
  window.setInterval(refresh, every);
})();
