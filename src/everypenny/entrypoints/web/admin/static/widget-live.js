// Refreshes an embedded totaliser (or the donation page's total) from the public totals API, shows when the
// appeal has closed, and tells the page that embeds the widget how tall it is (everypenny:height), so the
// loader can size its iframe. Money stays in whole pence: no floats.
(function () {
  var box = document.getElementById("totaliser");
  if (!box) return;
  var symbol = box.dataset.symbol, target = parseInt(box.dataset.target || "0", 10);
  var etag = null;
  function money(pence) {
    var pounds = Math.floor(pence / 100), rest = pence % 100;
    var whole = pounds.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return symbol + whole + (rest ? "." + (rest < 10 ? "0" : "") + rest : "");
  }
  function showStatus(status) {
    var closed = document.getElementById("closed");
    if (closed) closed.hidden = status !== "closed";
    Array.prototype.forEach.call(document.querySelectorAll("[data-while-live]"), function (element) {
      element.hidden = status !== "live";
    });
  }
  function refresh() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(box.dataset.totals, { headers: headers, cache: "no-cache" }).then(function (response) {
      if (response.status !== 200) return null;
      etag = response.headers.get("ETag");
      return response.json();
    }).then(function (totals) {
      if (!totals) return;
      document.getElementById("raised").textContent = money(totals.raised_pence);
      document.getElementById("count").textContent = totals.donation_count.toLocaleString("en-GB");
      var noun = document.getElementById("count-noun");
      if (noun) noun.textContent = totals.donation_count === 1 ? "donation" : "donations";
      var progress = document.getElementById("progress");
      if (progress && target > 0) {
        var percent = Math.min(100, Math.floor(totals.raised_pence * 100 / target));
        progress.setAttribute("aria-valuenow", percent);
        progress.firstElementChild.style.width = percent + "%";
      }
      showStatus(totals.status);
    }).catch(function () { /* keep the last figures; try again at the next poll */ });
  }
  if (window.parent !== window) {
    var lastHeight = 0;
    var tellHeight = function () {
      var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (height === lastHeight) return;
      lastHeight = height;
      window.parent.postMessage({ type: "everypenny:height", height: height }, "*");
    };
    new ResizeObserver(tellHeight).observe(document.documentElement);
    tellHeight();
  }
  setInterval(refresh, parseInt(box.dataset.pollSeconds, 10) * 1000);
})();
