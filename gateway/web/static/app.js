/* Lead Gateway operators' page: live Unsorted queue, cards, triage actions, keyboard. No build step. */
(function () {
  "use strict";

  var WORDS = {
    ru: {accept: "Принято", decline: "Отклонено", link: "Привязано", reply: "Отправлено", merge: "Объединено",
         replay: "Поставлено в очередь", taken: "Уже забрал(а)", failed: "Не удалось", at: "в",
         selected: "отмечено", done: "готово", notDone: "не вышло"},
    en: {accept: "Accepted", decline: "Declined", link: "Linked", reply: "Sent", merge: "Merged",
         replay: "Requeued", taken: "Already taken by", failed: "Failed", at: "at",
         selected: "selected", done: "done", notDone: "not done"}
  };
  var words = WORDS[document.body.dataset.lang] || WORDS.ru;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf()},
      body: JSON.stringify(body || {})
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {error: resp.status + " " + resp.statusText}; }
        return {ok: resp.ok, status: resp.status, data: data};
      });
    }, function (err) {
      return {ok: false, status: 0, data: {error: String(err)}};
    });
  }

  function say(output, text, bad) {
    if (!output) { return; }
    output.textContent = text;
    output.classList.toggle("bad", !!bad);
  }

  function problem(res) {
    var d = res.data || {};
    if (res.status === 409 && d.taken_by) {
      return words.taken + " " + d.taken_by + (d.at ? " " + words.at + " " + new Date(d.at).toLocaleString() : "");
    }
    return words.failed + ": " + (d.error || res.status);
  }

  // ---- the queue and the card pane -------------------------------------------------------
  var triage = document.getElementById("triage");
  var queue = document.getElementById("queue");
  var pane = document.getElementById("card-pane");
  var current = null;

  function rows() { return queue ? Array.prototype.slice.call(queue.querySelectorAll("li.row")) : []; }

  function rowOf(id) { return queue ? queue.querySelector('li.row[data-lead-id="' + Number(id) + '"]') : null; }

  function recount() {
    var count = document.getElementById("queue-count");
    var empty = document.getElementById("queue-empty");
    var n = rows().length;
    if (count) { count.textContent = String(n); }
    if (empty) { empty.hidden = n > 0; }
  }

  function loadCard(url) {
    if (!pane) { window.location.href = url.replace("/ui/leads/", "/leads/").replace("/card", ""); return; }
    return fetch(url, {credentials: "same-origin"}).then(function (resp) {
      if (resp.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(location.pathname); }
      return resp.text();
    }).then(function (html) {
      pane.innerHTML = html;
      pane.dataset.card = url;
      pane.querySelectorAll('form[data-kind="accept"]').forEach(filterStages);
    });
  }

  function cardUrl(id) { return "/ui/leads/" + Number(id) + "/card"; }

  function choose(row) {
    rows().forEach(function (r) { r.classList.toggle("selected", r === row); });
    current = row ? row.dataset.leadId : null;
    if (row) {
      row.scrollIntoView({block: "nearest"});
      loadCard(cardUrl(current));
    }
  }

  function move(delta) {
    var all = rows();
    if (!all.length) { return; }
    var i = all.findIndex(function (r) { return r.dataset.leadId === current; });
    var next = all[Math.max(0, Math.min(all.length - 1, i < 0 ? 0 : i + delta))];
    choose(next);
  }

  function removeRow(id) {
    var row = rowOf(id);
    if (row) { row.remove(); recount(); picked(); }
  }

  function filterStages(form) {
    var pipeline = form.elements.pipeline ? form.elements.pipeline.value : "";
    Array.prototype.forEach.call(form.elements.stage ? form.elements.stage.options : [], function (o) {
      o.hidden = !!o.dataset.pipeline && o.dataset.pipeline !== pipeline;
    });
  }

  // ---- a selection for bulk decisions -------------------------------------------------------
  var bulk = document.getElementById("bulk");

  function picked() {
    var ids = rows().filter(function (r) { var c = r.querySelector(".pick"); return c && c.checked; })
      .map(function (r) { return Number(r.dataset.leadId); });
    if (bulk) {
      bulk.hidden = ids.length === 0;
      document.getElementById("bulk-count").textContent = ids.length + " " + words.selected;
    }
    return ids;
  }

  function placeRow(li) {
    var when = li.querySelector("time") ? li.querySelector("time").getAttribute("datetime") : "";
    var before = rows().find(function (r) {
      var t = r.querySelector("time");
      return t && new Date(t.getAttribute("datetime")) < new Date(when);
    });
    queue.insertBefore(li, before || null);
  }

  function onChange(change) {
    if (change.status !== "unsorted") {
      removeRow(change.id);
      if (current === String(change.id) && pane) { loadCard(cardUrl(change.id)); }
      return Promise.resolve();
    }
    if (triage.dataset.channel && change.channel !== triage.dataset.channel) { return Promise.resolve(); }
    return fetch("/ui/leads/" + Number(change.id) + "/row", {credentials: "same-origin"}).then(function (resp) {
      if (!resp.ok) { return; }
      return resp.text().then(function (html) {
        var tpl = document.createElement("template");
        tpl.innerHTML = html.trim();
        var li = tpl.content.firstElementChild;
        if (!li) { return; }
        var old = rowOf(change.id);
        if (old) {
          li.classList.toggle("selected", old.classList.contains("selected"));
          li.querySelector(".pick").checked = old.querySelector(".pick").checked;
          old.replaceWith(li);
        } else {
          li.classList.add("fresh");
          placeRow(li);
        }
        recount();
      });
    });
  }

  if (triage && queue && window.EventSource) {
    var state = document.getElementById("live-state");
    var source = new EventSource("/api/v1/live?since=" + encodeURIComponent(triage.dataset.since || ""));
    source.addEventListener("open", function () { state.dataset.state = "on"; triage.dataset.live = "on"; });
    source.addEventListener("error", function () { state.dataset.state = "off"; });
    source.addEventListener("leads", function (ev) {
      var changes = JSON.parse(ev.data);
      changes.reduce(function (p, c) { return p.then(function () { return onChange(c); }); }, Promise.resolve());
    });
    source.addEventListener("resync", function () { window.location.reload(); });
  }

  // ---- actions -------------------------------------------------------------------------------
  function body(form) {
    var kind = form.dataset.kind;
    var data = new FormData(form);
    if (kind === "accept") {
      var out = {};
      ["pipeline", "stage", "responsible"].forEach(function (k) { if (data.get(k)) { out[k] = data.get(k); } });
      return out;
    }
    if (kind === "decline") {
      var own = (data.get("reason_text") || "").trim();
      return {reason: own || data.get("reason") || null, block: data.get("block") === "1"};
    }
    if (kind === "link") { return {deal_id: Number(data.get("deal_id"))}; }
    return {text: data.get("text") || ""};
  }

  function afterDecision(form, res) {
    var card = form.closest(".card");
    var id = card ? card.dataset.leadId : null;
    var output = card ? card.querySelector("#action-result") : null;
    if (res.ok) {
      say(output, words[form.dataset.kind] || "OK", false);
      if (id) { removeRow(id); }
    } else {
      say(output, problem(res), true);
    }
    if (id && (res.ok || res.status === 409)) {
      if (pane) { return loadCard(pane.dataset.card && pane.dataset.card.indexOf("/ui/") === 0 ? pane.dataset.card : cardUrl(id)); }
      window.location.reload();
    }
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.dataset || !form.dataset.api) { return; }
    ev.preventDefault();
    if (form.dataset.kind === "bulk") { return submitBulk(form, ev.submitter); }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    post(form.dataset.api, body(form)).then(function (res) {
      if (button) { button.disabled = false; }
      if (form.dataset.kind === "reply") {
        say(form.querySelector("output"), res.ok ? words.reply : problem(res), !res.ok);
        if (res.ok) { form.reset(); if (pane && pane.dataset.card) { loadCard(pane.dataset.card); } }
        return;
      }
      afterDecision(form, res);
    });
  });

  function submitBulk(form, submitter) {
    var action = submitter && submitter.value === "decline" ? "decline" : "accept";
    var payload = {action: action, ids: picked()};
    if (action === "decline") { payload.reason = form.elements.reason.value; }
    var output = form.querySelector("output");
    return post(form.dataset.api, payload).then(function (res) {
      if (!res.ok) { say(output, problem(res), true); return; }
      (res.data.items || []).forEach(function (item) { if (item.ok) { removeRow(item.id); } });
      say(output, words.done + ": " + res.data.done + ", " + words.notDone + ": " + res.data.failed, res.data.failed > 0);
      if (pane && current && !rowOf(current)) { loadCard(cardUrl(current)); }
    });
  }

  document.addEventListener("click", function (ev) {
    var target = ev.target;
    var rowLink = target.closest && target.closest("#queue a.row-link");
    if (rowLink) {
      ev.preventDefault();
      choose(rowLink.closest("li.row"));
      return;
    }
    var cardLink = target.closest && target.closest("a[data-card]");
    if (cardLink && pane) {
      ev.preventDefault();
      loadCard(cardLink.dataset.card);
      return;
    }
    var linkDeal = target.closest && target.closest("[data-link-deal]");
    if (linkDeal) {
      var form = linkDeal.closest(".card").querySelector('form[data-kind="link"]');
      if (form) { form.elements.deal_id.value = linkDeal.dataset.linkDeal; form.requestSubmit(); }
      return;
    }
    var merge = target.closest && target.closest("[data-merge]");
    if (merge) {
      post("/api/v1/contacts/" + Number(merge.dataset.merge) + "/merge", {into: Number(merge.dataset.into)})
        .then(function (res) {
          var output = merge.closest(".card").querySelector("#action-result");
          say(output, res.ok ? words.merge : problem(res), !res.ok);
          if (res.ok && pane && pane.dataset.card) { loadCard(pane.dataset.card); }
        });
      return;
    }
    var replay = target.closest && target.closest("[data-replay]");
    if (replay) {
      replay.disabled = true;
      post("/api/v1/events/" + encodeURIComponent(replay.dataset.replay) + "/replay", {}).then(function (res) {
        say(replay.parentNode.querySelector("output"), res.ok ? words.replay : problem(res), !res.ok);
        replay.disabled = res.ok;
      });
    }
  });

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("select[data-autosubmit]")) { el.form.submit(); return; }
    if (el.matches && el.matches("#queue .pick")) { picked(); return; }
    if (el.name === "pipeline" && el.form && el.form.dataset.kind === "accept") {
      filterStages(el.form);
      el.form.elements.stage.value = "";
    }
  });

  // ---- keyboard: j/k move, a accept, d decline, l link ------------------------------------------
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || ev.target.isContentEditable) {
      if (ev.key === "Escape") { ev.target.blur(); }
      return;
    }
    var card = pane ? pane.querySelector(".card") : null;
    var form;
    switch (ev.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "x":
        form = current && rowOf(current) ? rowOf(current).querySelector(".pick") : null;
        if (form) { form.checked = !form.checked; picked(); }
        break;
      case "a":
        form = card && card.querySelector('form[data-kind="accept"]');
        if (form) { form.requestSubmit(); }
        break;
      case "d":
        form = card && card.querySelector('form[data-kind="decline"]');
        if (form) { form.requestSubmit(); }
        break;
      case "l":
        form = card && card.querySelector('form[data-kind="link"]');
        if (form) { form.elements.deal_id.focus(); }
        break;
      default: return;
    }
    ev.preventDefault();
  });

  document.querySelectorAll('form[data-kind="accept"]').forEach(filterStages);
  if (triage && rows().length) { choose(rows()[0]); }
}());
