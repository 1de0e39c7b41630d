// The promotion copy page: a button copies its block's words to the clipboard and says so to screen readers.
(function () {
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    button.addEventListener("click", function () {
      var id = button.dataset.copy, box = document.getElementById(id), said = document.getElementById(id + "-copied");
      function done(text) { said.textContent = text; }
      if (navigator.clipboard) {
        navigator.clipboard.writeText(box.value).then(function () { done("Copied."); },
          function () { box.select(); done("Selected: press Ctrl+C (or ⌘C) to copy."); });
      } else {
        box.select();
        done("Selected: press Ctrl+C (or ⌘C) to copy.");
      }
    });
  });
})();
