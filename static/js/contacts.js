// Contacts pages, progressive enhancement only: every page works without this file
// (the import page then refreshes itself every two seconds).
(function () {
  "use strict";

  // "Select all on this page" for the bulk actions.
  document.querySelectorAll(".js-select-all").forEach(function (box) {
    var form = box.closest("form");
    box.hidden = false;
    box.addEventListener("change", function () {
      form.querySelectorAll('input[name="ids"]').forEach(function (item) { item.checked = box.checked; });
    });
  });

  // The import's progress bar: poll the small JSON status until the job has finished.
  var card = document.querySelector(".import-progress[data-status-url]");
  if (!card || !card.dataset.statusUrl || !window.fetch) return;
  var bar = card.querySelector("progress");

  function show(status) {
    bar.value = status.percent;
    bar.textContent = status.percent + "%";
    card.querySelectorAll("[data-field]").forEach(function (el) {
      var value = status[el.dataset.field];
      if (value !== undefined && value !== null) el.textContent = value;
    });
  }

  function poll() {
    fetch(card.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (status) {
        show(status);
        // Finished: load the page again for the final figures and the error report link.
        if (status.finished) window.location.reload();
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 500);
})();
