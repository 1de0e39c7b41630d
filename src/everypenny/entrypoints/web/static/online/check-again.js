// While a payment is being confirmed, asks again every few seconds and updates the page in place. The status
// stays one polite live region, so a screen reader hears the outcome without losing its place. Without this
// script the "Check again" link does the same by hand.
(function () {
  var outcome = document.getElementById("outcome");
  if (!outcome) return;
  var delay = 3000;
  function show(doc) {
    var fresh = doc.getElementById("outcome"), status = document.getElementById("payment-status");
    var focusWasOnLink = document.activeElement && document.activeElement.closest("#check-again");
    Array.prototype.slice.call(outcome.children).forEach(function (child) {
      if (child !== status) child.remove();
    });
    var beforeStatus = true;
    Array.prototype.slice.call(fresh.children).forEach(function (child) {
      if (child.id === "payment-status") {
        beforeStatus = false;
        status.innerHTML = child.innerHTML;
      } else if (beforeStatus) {
        outcome.insertBefore(document.importNode(child, true), status);
      } else {
        outcome.appendChild(document.importNode(child, true));
      }
    });
    outcome.removeAttribute("data-confirming");
    document.title = doc.title;
    if (focusWasOnLink) {
      var heading = outcome.querySelector("h1");
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
  function check() {
    fetch(location.href, { cache: "no-store" }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      var doc = html && new DOMParser().parseFromString(html, "text/html");
      var fresh = doc && doc.getElementById("outcome");
      if (!fresh || fresh.hasAttribute("data-confirming")) return setTimeout(check, delay);
      show(doc);
    }).catch(function () { setTimeout(check, delay); });
  }
  setTimeout(check, delay);
})();
