/* Deals, tasks, handover: the board (drag, keyboard, pages of cards), completing tasks, a deal's own page. */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function send(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf()},
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {error: resp.status + " " + resp.statusText}; }
        return {ok: resp.ok, status: resp.status, data: data};
      });
    }, function (err) { return {ok: false, status: 0, data: {error: String(err)}}; });
  }

  function problem(res) {  // the page's own words for a failure (app.js), else the answer's text
    return window.leadGateway ? window.leadGateway.problem(res) : (res.data.error || String(res.status));
  }

  function say(el, text, bad) {
    if (!el) { return; }
    el.textContent = text;
    el.classList.toggle("bad", !!bad);
  }

  // ---- the board ------------------------------------------------------------------------------
  var board = document.getElementById("board");
  var status = document.getElementById("board-status");

  function columns() { return Array.prototype.slice.call(board.querySelectorAll("section.column")); }
  function cardsOf(column) { return Array.prototype.slice.call(column.querySelectorAll("li.deal-card")); }
  function columnOf(card) { return card.closest("section.column"); }

  function refreshTotals() {
    fetch("/ui/deals/totals?" + board.dataset.query, {credentials: "same-origin"})
      .then(function (resp) { return resp.ok ? resp.json() : {}; })
      .then(function (totals) {
        columns().forEach(function (column) {
          var t = totals[column.dataset.stage];
          if (!t) { return; }
          column.querySelector(".totals .col-count").textContent = t.count;
          column.querySelector(".totals .col-sum").textContent = t.budget ? "· " + t.budget : "";
        });
      });
  }

  function move(card, column) {
    var from = columnOf(card);
    if (!column || column === from) { return; }
    var before = card.nextElementSibling;
    column.querySelector("ol.cards").prepend(card);
    card.focus();
    card.classList.add("moving");
    var stage = column.dataset.stage;
    send("PATCH", "/api/v1/deals/" + card.dataset.dealId, {stage: stage, version: Number(card.dataset.version)})
      .then(function (res) {
        card.classList.remove("moving");
        if (res.ok) {
          card.dataset.version = res.data.version;
          say(status, board.dataset.moved + " «" + stage + "»: " + card.querySelector(".deal-name").textContent);
          refreshTotals();
          return;
        }
        from.querySelector("ol.cards").insertBefore(card, before && before.parentNode ? before : null);
        if (res.status === 409 && res.data.deal) {
          var now = columns().filter(function (c) { return c.dataset.stage === res.data.deal.stage; })[0];
          card.dataset.version = res.data.deal.version;
          if (now && now !== from) { now.querySelector("ol.cards").prepend(card); }
          say(status, board.dataset.conflict, true);
          refreshTotals();
        } else {
          say(status, board.dataset.failed + ": " + problem(res), true);
        }
        card.focus();
      });
  }

  function step(card, by) {
    var all = columns();
    return all[all.indexOf(columnOf(card)) + by];
  }

  function onKey(event) {
    var card = event.target.closest && event.target.closest("li.deal-card");
    if (!card) { return; }
    var key = event.key;
    if (event.shiftKey && (key === "ArrowRight" || key === "ArrowLeft")) {
      event.preventDefault();
      move(card, step(card, key === "ArrowRight" ? 1 : -1));
    } else if (key === "ArrowDown" || key === "ArrowUp") {
      event.preventDefault();
      var list = cardsOf(columnOf(card));
      var next = list[list.indexOf(card) + (key === "ArrowDown" ? 1 : -1)];
      if (next) { next.focus(); }
    } else if (key === "ArrowRight" || key === "ArrowLeft") {
      event.preventDefault();
      var column = step(card, key === "ArrowRight" ? 1 : -1);
      var first = column && cardsOf(column)[0];
      if (first) { first.focus(); }
    } else if (key === "Enter" && event.target === card) {
      window.location.href = card.querySelector("a.deal-name").href;
    }
  }

  function more(button) {
    var column = columnOf(button);
    var url = "/ui/deals/cards?" + board.dataset.query + "&stage=" + encodeURIComponent(column.dataset.stage) +
      "&pipeline=" + encodeURIComponent(board.dataset.pipeline) + "&cursor=" + encodeURIComponent(button.dataset.cursor);
    button.disabled = true;
    fetch(url, {credentials: "same-origin"}).then(function (resp) {
      var next = resp.headers.get("X-Next-Cursor");
      return resp.text().then(function (html) {
        column.querySelector("ol.cards").insertAdjacentHTML("beforeend", html);
        if (next) { button.dataset.cursor = next; button.disabled = false; } else { button.remove(); }
      });
    });
  }

  if (board) {
    var dragged = null;
    board.addEventListener("dragstart", function (event) {
      dragged = event.target.closest && event.target.closest("li.deal-card");
      if (dragged) { event.dataTransfer.setData("text/plain", dragged.dataset.dealId); event.dataTransfer.effectAllowed = "move"; }
    });
    board.addEventListener("dragover", function (event) {
      if (dragged && event.target.closest("section.column")) { event.preventDefault(); }
    });
    board.addEventListener("drop", function (event) {
      var column = event.target.closest("section.column");
      if (dragged && column) { event.preventDefault(); move(dragged, column); }
      dragged = null;
    });
    board.addEventListener("keydown", onKey);
    board.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("button.more");
      if (button) { more(button); }
    });
    if ("IntersectionObserver" in window) {  // a column's next page comes when its end scrolls into view
      var seen = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) { if (e.isIntersecting && !e.target.disabled) { more(e.target); } });
      });
      board.querySelectorAll("button.more").forEach(function (b) { seen.observe(b); });
    }
  }

  // ---- tasks: complete with a result; a new task; tags; handing over; disabling a user ---------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var kind = form.dataset && form.dataset.api;
    if (!kind) { return; }
    event.preventDefault();
    var out = form.querySelector("output");
    var data = new FormData(form);
    var body = {}, url = form.action, method = "POST";
    if (kind === "complete") {
      body = {result: data.get("result") || null};
    } else if (kind === "task") {
      body = {text: data.get("text"), deal_id: Number(form.dataset.dealId) || undefined};
      if (data.get("due_at")) { body.due_at = new Date(data.get("due_at")).toISOString(); }
    } else if (kind === "tags") {
      body = {add: (data.get("add") || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean),
              remove: data.getAll("remove")};
    } else if (kind === "stage") {
      method = "PATCH"; body = {stage: data.get("stage"), version: Number(form.dataset.version)};
    } else if (kind === "handover") {
      body = {to: data.get("to"), with_leads: data.get("with_leads") === "on"};
    } else if (kind === "non-target") {
      body = {reason: data.get("reason") || null};
    } else if (kind === "disable") {
      body = {handover_to: data.get("handover_to") || null, with_leads: data.get("with_leads") === "on"};
    }
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    send(method, url, body).then(function (res) {
      if (res.ok && kind === "complete") {
        var item = form.closest("li.task");
        item.classList.add("done");
        item.dataset.status = "done";
        say(out, form.dataset.done);
        return;
      }
      if (res.ok) { window.location.reload(); return; }
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      say(out, res.status === 409 && form.dataset.conflict ? form.dataset.conflict : problem(res), true);
    });
  });
})();
