// Progressive enhancement only: every form works without this file.
// Disables a form's submit button once it is sent, so a double click does not post twice.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.classList.contains("lang-switch")) return; // its buttons carry the chosen value
  var button = form.querySelector("button[type=submit]");
  if (button) {
    window.setTimeout(function () { button.disabled = true; }, 0);
  }
});
// Coming back with the browser's back button restores the page as it was: re-enable.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("button[disabled]").forEach(function (b) { b.disabled = false; });
});
