/* Card buttons that send something out: call back, deliver to a sink again. No build step. */
(function () {
  "use strict";
  var ru = (document.body.dataset.lang || "ru") === "ru";
  var QUEUED = ru ? "Поставлено в очередь" : "Queued";
  var FAILED = ru ? "Не удалось" : "Failed";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function reloadCard(el) {
    var pane = document.getElementById("card-pane");
    if (pane && pane.dataset.card) {
      return fetch(pane.dataset.card, {credentials: "same-origin"}).then(function (r) { return r.text(); })
        .then(function (html) { pane.innerHTML = html; });
    }
    window.setTimeout(function () { window.location.reload(); }, 800);
  }

  // A delivery still on its way is looked at again every few seconds, so "ждёт отправки" turns into
  // "доставлено" or "не доставлено" without a reload (for five minutes at most).
  var watched = 0;
  window.setInterval(function () {
    var old = document.querySelector("section.sinks");
    if (!old || !old.querySelector("li.sink-pending, li.sink-failed") || watched >= 100) { return; }
    watched += 1;
    var pane = document.getElementById("card-pane");
    var source = pane && pane.dataset.card ? pane.dataset.card : window.location.pathname;
    fetch(source, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
      var fresh = html ? new DOMParser().parseFromString(html, "text/html").querySelector("section.sinks") : null;
      var now = document.querySelector("section.sinks");
      if (fresh && now && fresh.innerHTML !== now.innerHTML && !now.querySelector("button:disabled")) { now.replaceWith(fresh); }
    }).catch(function () { return null; });
  }, 3000);

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button[data-post]");
    if (!button) { return; }
    ev.preventDefault();
    button.disabled = true;
    var out = button.parentNode.querySelector("output");
    fetch(button.dataset.post, {
      method: "POST", credentials: "same-origin", body: "{}",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf()}
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (out) { out.textContent = resp.ok ? QUEUED : FAILED + ": " + (data.error || resp.status); }
        if (out) { out.classList.toggle("bad", !resp.ok); }
        button.disabled = resp.ok;
        if (resp.ok) { window.setTimeout(function () { reloadCard(button); }, 1500); }
      });
    });
  });
}());
