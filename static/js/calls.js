// Live calls (progressive enhancement: the pages are complete without it). When a `call.updated`
// event arrives for a call this page shows (the list: any; a call's page: that one), the page's
// live region is fetched again and swapped in, so the server renders everything, as without JS.
(function () {
  var region = document.querySelector("[data-live-calls]");
  if (!region || !window.fetch || !window.DOMParser) return;
  var callId = region.getAttribute("data-call-id");
  var pending = null;

  function refresh() {
    pending = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-live-calls]");
        var current = document.querySelector("[data-live-calls]");
        if (fresh && current && fresh.innerHTML !== current.innerHTML) current.replaceWith(fresh);
      })
      .catch(function () { /* the next event tries again */ });
  }

  document.addEventListener("prix:event", function (event) {
    var detail = event.detail || {};
    if (detail.type !== "call.updated" || !detail.data) return;
    if (callId && detail.data.id !== callId) return;
    if (!pending) pending = window.setTimeout(refresh, 250);
  });
})();
