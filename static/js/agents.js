// Agent editor, progressive enhancement only (the page works without it): clicking a
// variable in the list inserts it where the cursor was in the last text box used.
(function () {
  var target = null;
  document.querySelectorAll("textarea[data-variables]").forEach(function (box) {
    box.addEventListener("focus", function () { target = box; });
  });
  document.querySelectorAll(".agent-variable[data-insert]").forEach(function (chip) {
    chip.setAttribute("role", "button");
    chip.setAttribute("tabindex", "0");
    function insert() {
      var box = target || document.querySelector("textarea[name=system_prompt]");
      if (!box || box.disabled) return;
      var text = chip.getAttribute("data-insert");
      var start = box.selectionStart, end = box.selectionEnd;
      box.value = box.value.slice(0, start) + text + box.value.slice(end);
      box.focus();
      box.selectionStart = box.selectionEnd = start + text.length;
    }
    chip.addEventListener("click", insert);
    chip.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); insert(); }
    });
  });
})();
