// Live campaign progress (progressive enhancement: the page is complete without it). When the
// dialer publishes `campaign.progress` for this campaign, or a call of the account changes
// (`call.updated`, which may be one of its calls), the page's live region is fetched again and
// swapped in: the server renders every figure, exactly as without JavaScript. Bursts of events
// are folded into one fetch per second at most.
(function () {
  var region = document.querySelector("[data-live-campaign]");
  if (!region || !window.fetch || !window.DOMParser) return;
  var campaignId = region.getAttribute("data-campaign-id");
  var pending = null;

  function refresh() {
    pending = null;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-live-campaign]");
        var current = document.querySelector("[data-live-campaign]");
        if (fresh && current && fresh.innerHTML !== current.innerHTML) current.replaceWith(fresh);
      })
      .catch(function () { /* the next event tries again */ });
  }

  document.addEventListener("prix:event", function (event) {
    var detail = event.detail || {};
    var data = detail.data || {};
    if (detail.type === "campaign.progress" && String(data.campaign) !== campaignId) return;
    if (detail.type !== "campaign.progress" && detail.type !== "call.updated") return;
    if (!pending) pending = window.setTimeout(refresh, 1000);
  });
})();
