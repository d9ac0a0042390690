/* Lead Gateway, the operators' page: the live queue, cards, decisions with undo, link search, keyboard.
   No build step, no inline code (the page's policy forbids it). Every word comes from the page (#ui-words). */
(function () {
  "use strict";

  var wordsEl = document.getElementById("ui-words");
  var words = wordsEl ? wordsEl.dataset : {};
  var UNDO_SECONDS = 8;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf()},
      body: JSON.stringify(body || {})
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {}; }
        return {ok: resp.ok, status: resp.status, data: data};
      });
    }, function () { return {ok: false, status: 0, data: {}}; });
  }

  function getHtml(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (resp) {
      if (resp.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(location.pathname); }
      return resp.text().then(function (html) { return {ok: resp.ok, status: resp.status, html: html}; });
    });
  }

  function fragment(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    return tpl.content;
  }

  /* A failure in the reader's words: who took it first, or what happened and what to do. */
  function problem(res) {
    var d = res.data || {};
    if (res.status === 0) { return words.offline; }
    if (res.status === 401) { return words.expired; }
    if (res.status === 409 && d.taken_by) {
      var at = d.at ? " " + words.at + " " + new Date(d.at).toLocaleTimeString(document.documentElement.lang,
        {hour: "2-digit", minute: "2-digit"}) : "";
      return words.taken + " " + d.taken_by + at;
    }
    var known = document.querySelector('#ui-problems li[data-kind="' + (d.kind || "") + '"]');
    if (!known) {
      known = document.querySelector('#ui-problems li[data-kind="' +
        (res.status >= 500 ? "UpstreamError" : res.status === 404 ? "NotFound" : "PayloadError") + '"]');
    }
    return known ? known.dataset.what + ". " + known.dataset.todo : String(res.status);
  }

  function say(output, text, bad) {
    if (!output) { return; }
    output.textContent = text;
    output.classList.toggle("bad", !!bad);
  }

  /* ---- the notice: stays until the next one; may carry an action (Undo) -------------------------- */
  var toastTimer = null;

  function toast(text, bad, action) {
    var old = document.getElementById("toast");
    if (old) { old.remove(); }
    clearInterval(toastTimer);
    var box = document.createElement("div");
    box.id = "toast";
    box.className = "toast" + (bad ? " bad" : "");
    box.setAttribute("role", bad ? "alert" : "status");
    var span = document.createElement("span");
    span.className = "toast-text";
    span.textContent = text;
    box.appendChild(span);
    if (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small";
      button.dataset.undo = "1";
      var left = action.seconds;
      button.textContent = action.label + " (" + left + ")";
      button.addEventListener("click", function () { clearInterval(toastTimer); button.disabled = true; action.run(); });
      box.appendChild(button);
      toastTimer = setInterval(function () {
        left -= 1;
        if (left <= 0) { clearInterval(toastTimer); button.remove(); return; }
        button.textContent = action.label + " (" + left + ")";
      }, 1000);
    }
    document.body.appendChild(box);
  }

  /* ---- the queue and the card pane ------------------------------------------------------------------ */
  var triage = document.getElementById("triage");
  var queue = document.getElementById("queue");
  var pane = document.getElementById("card-pane");
  var inQueue = !!(triage && queue);
  var current = null;

  function rows() { return queue ? Array.prototype.slice.call(queue.querySelectorAll("li.row")) : []; }
  function rowOf(id) { return queue ? queue.querySelector('li.row[data-lead-id="' + Number(id) + '"]') : null; }

  function fmtNumber(n) { return new Intl.NumberFormat(document.documentElement.lang).format(n); }

  function recount(total) {
    var count = document.getElementById("queue-count");
    var shown = document.getElementById("queue-shown");
    var empty = document.getElementById("queue-empty");
    var n = rows().length;
    if (!count) { return; }
    if (typeof total === "number") { count.dataset.total = String(total); }
    var all = Math.max(Number(count.dataset.total || 0), n);
    count.textContent = fmtNumber(all);
    if (shown) {
      shown.querySelector("[data-shown]").textContent = fmtNumber(n);
      shown.querySelector("[data-total]").textContent = fmtNumber(all);
      shown.hidden = n >= all;
    }
    if (empty) { empty.hidden = n > 0; }
  }

  var countTimer = null;
  function refreshCount() {  // the true size of the queue, asked of the server after changes
    clearTimeout(countTimer);
    countTimer = setTimeout(function () {
      var params = new URLSearchParams();
      if (triage.dataset.channel) { params.set("channel", triage.dataset.channel); }
      if (triage.dataset.q) { params.set("q", triage.dataset.q); }
      fetch("/api/v1/unsorted/count?" + params.toString(), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d) { recount(d.count); } });
    }, 400);
  }

  function cardUrl(id) { return "/ui/leads/" + Number(id) + "/card"; }

  var cardLoads = 0;  // only the newest load may fill the pane

  function focusCard() {
    var title = pane.querySelector(".card-title");
    (title || pane).focus({preventScroll: false});
  }

  function loadCard(url, focus) {
    if (!pane) { window.location.href = url.replace("/ui/leads/", "/leads/").replace("/card", ""); return Promise.resolve(); }
    var mine = ++cardLoads;
    return getHtml(url).then(function (res) {
      if (mine !== cardLoads) { return; }
      pane.innerHTML = res.html;
      pane.dataset.card = url;
      pane.querySelectorAll('form[data-kind="accept"]').forEach(filterStages);
      if (focus) { focusCard(); }
    });
  }

  function showView(view) { if (triage) { triage.dataset.view = view; } }

  function choose(row, focus) {
    rows().forEach(function (r) { r.classList.toggle("selected", r === row); });
    current = row ? row.dataset.leadId : null;
    if (!row) {
      if (pane) { pane.innerHTML = '<p class="placeholder">' + (words.empty || "") + "</p>"; }
      showView("queue");
      return Promise.resolve();
    }
    row.scrollIntoView({block: "nearest"});
    showView("card");
    if (pane && pane.dataset.card === cardUrl(current) && cardLoads && !pane.querySelector(".placeholder")) {
      if (focus) { focusCard(); }  // this lead's card is already open: keep what the operator started in it
      return Promise.resolve();
    }
    return loadCard(cardUrl(current), focus);
  }

  function neighbour(id) {  // the lead to open after this one is decided: the next, else the one before
    var all = rows();
    var i = all.findIndex(function (r) { return r.dataset.leadId === String(id); });
    if (i < 0) { return all[0] || null; }
    return all[i + 1] || all[i - 1] || null;
  }

  function move(delta) {
    var all = rows();
    if (!all.length) { return; }
    var i = all.findIndex(function (r) { return r.dataset.leadId === current; });
    choose(all[Math.max(0, Math.min(all.length - 1, i < 0 ? 0 : i + delta))], false);
  }

  function removeRow(id) {
    var row = rowOf(id);
    if (row) { row.remove(); recount(Math.max(0, Number(document.getElementById("queue-count").dataset.total) - 1)); picked(); }
  }

  function filterStages(form) {
    var pipeline = form.elements.pipeline ? form.elements.pipeline.value : "";
    Array.prototype.forEach.call(form.elements.stage ? form.elements.stage.options : [], function (o) {
      o.hidden = !!o.dataset.pipeline && o.dataset.pipeline !== pipeline;
    });
  }

  /* ---- a selection for bulk decisions ------------------------------------------------------------------- */
  var bulk = document.getElementById("bulk");

  function picked() {
    var ids = rows().filter(function (r) { var c = r.querySelector(".pick"); return c && c.checked; })
      .map(function (r) { return Number(r.dataset.leadId); });
    if (bulk) {
      bulk.hidden = ids.length === 0;
      document.getElementById("bulk-count").textContent = fmtNumber(ids.length) + " " + words.selected;
    }
    return ids;
  }

  function placeRow(li) {
    var when = new Date(li.dataset.received);
    var before = rows().find(function (r) { return new Date(r.dataset.received) < when; });
    var more = document.getElementById("queue-more-item");
    if (!before && more) { return; }  // older than every row shown: it belongs to a later page
    queue.insertBefore(li, before || null);
  }

  function onChange(change) {
    if (change.status !== "unsorted") {
      if (rowOf(change.id)) { rowOf(change.id).remove(); recount(); picked(); }
      if (current === String(change.id) && pane) { loadCard(cardUrl(change.id)); }
      return Promise.resolve();
    }
    if (triage.dataset.channel && change.channel !== triage.dataset.channel) { return Promise.resolve(); }
    if (triage.dataset.q) { return Promise.resolve(); }  // a search shows what matched when it ran
    return getHtml("/ui/leads/" + Number(change.id) + "/row").then(function (res) {
      if (!res.ok) { return; }
      var li = fragment(res.html).firstElementChild;
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
  }

  if (inQueue && window.EventSource) {
    var state = document.getElementById("live-state");
    var label = state.querySelector(".live-text");
    var source = new EventSource("/api/v1/live?since=" + encodeURIComponent(triage.dataset.since || ""));
    source.addEventListener("open", function () {
      state.dataset.state = "on"; label.textContent = label.dataset.on; triage.dataset.live = "on";
    });
    source.addEventListener("error", function () { state.dataset.state = "off"; label.textContent = label.dataset.off; });
    source.addEventListener("leads", function (ev) {
      var changes = JSON.parse(ev.data);
      changes.reduce(function (p, c) { return p.then(function () { return onChange(c); }); }, Promise.resolve())
        .then(refreshCount);
    });
    source.addEventListener("resync", function () { window.location.reload(); });
  }

  /* ---- decisions -------------------------------------------------------------------------------------- */
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

  function undo(id) {
    post("/api/v1/unsorted/" + Number(id) + "/undo", {}).then(function (res) {
      if (!res.ok) { toast(problem(res), true); return; }
      toast(words.undone, false);
      if (!inQueue) { window.location.reload(); return; }
      onChange({id: Number(id), status: "unsorted", channel: ""}).then(function () {
        refreshCount();
        var row = rowOf(id);
        if (row) { choose(row, true); }
      });
    });
  }

  function decided(form, res, payload) {
    var card = form.closest(".card");
    var id = card ? card.dataset.leadId : null;
    var kind = form.dataset.kind;
    if (!res.ok) {
      toast(problem(res), true);
      if (res.status === 409 && id) { return inQueue ? loadCard(cardUrl(id)) : window.location.reload(); }
      return;
    }
    var text = words[kind] + (kind === "decline" && payload.reason ? ": " + payload.reason : "");
    var action = kind === "decline" ? {label: words.undo, seconds: UNDO_SECONDS, run: function () { undo(id); }} : null;
    if (!inQueue) { toast(text, false, action); setTimeout(function () { window.location.reload(); }, action ? UNDO_SECONDS * 1000 : 600); return; }
    var next = neighbour(id);
    removeRow(id);
    toast(text, false, action);
    choose(next, true);
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.matches("form.link-search")) { ev.preventDefault(); return searchDeals(form); }
    if (form.matches("form[data-replay-all]")) { ev.preventDefault(); return replayAll(form); }
    if (!form.dataset || !form.dataset.api) { return; }
    ev.preventDefault();
    if (form.dataset.kind === "bulk") { return submitBulk(form, ev.submitter); }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    var payload = body(form);
    post(form.dataset.api, payload).then(function (res) {
      if (button) { button.disabled = false; }
      if (form.dataset.kind === "reply") {
        say(form.querySelector("output"), res.ok ? words.reply : problem(res), !res.ok);
        if (res.ok) { form.reset(); if (pane && pane.dataset.card) { loadCard(pane.dataset.card); } }
        return;
      }
      decided(form, res, payload);
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
      toast(words.done + ": " + fmtNumber(res.data.done) + ", " + words.notDone + ": " + fmtNumber(res.data.failed),
            res.data.failed > 0);
      say(output, "", false);
      if (current && !rowOf(current)) { choose(rows()[0] || null, false); }
    });
  }

  /* ---- link by search ------------------------------------------------------------------------------------ */
  var searchTimer = null;

  function searchDeals(form) {
    var list = form.parentNode.querySelector("[data-candidates-list]");
    var q = form.elements.q.value.trim();
    list.textContent = words.searching;
    return getHtml(form.dataset.candidates + "?q=" + encodeURIComponent(q)).then(function (res) {
      if (form.elements.q.value.trim() !== q) { return; }  // a newer search is under way
      list.innerHTML = "";
      list.appendChild(fragment(res.html));
    });
  }

  document.addEventListener("input", function (ev) {
    var el = ev.target;
    if (el.name === "q" && el.form && el.form.matches("form.link-search")) {
      clearTimeout(searchTimer);
      if (el.value.trim().length >= 2) { searchTimer = setTimeout(function () { searchDeals(el.form); }, 300); }
    }
    if (el.name === "reason_text" && el.form) {  // own words stand in for a chosen reason
      Array.prototype.forEach.call(el.form.querySelectorAll('input[name="reason"]'), function (r) {
        r.required = !el.value.trim();
      });
    }
  });

  /* ---- the event log ------------------------------------------------------------------------------------- */
  function replayAll(form) {
    var button = form.querySelector("button");
    button.disabled = true;
    post("/api/v1/events/replay", {status: form.dataset.replayAll}).then(function (res) {
      say(form.querySelector("output"), res.ok ? words.requeuedAll + " " + fmtNumber(res.data.requeued) : problem(res), !res.ok);
      button.disabled = res.ok;
    });
  }

  document.addEventListener("click", function (ev) {
    var target = ev.target;
    if (!target.closest) { return; }
    var rowLink = target.closest("#queue a.row-link");
    if (rowLink) { ev.preventDefault(); choose(rowLink.closest("li.row"), true); return; }
    if (target.closest("[data-back]")) {
      showView("queue");
      var row = current && rowOf(current);
      if (row) { row.querySelector("a.row-link").focus(); }
      return;
    }
    var more = target.closest("[data-more]");
    if (more) {
      more.disabled = true;
      getHtml(more.dataset.more).then(function (res) {
        var item = more.closest("li");
        var frag = fragment(res.html);
        Array.prototype.slice.call(frag.querySelectorAll("li.row")).forEach(function (li) {
          if (rowOf(li.dataset.leadId)) { li.remove(); }
        });
        item.replaceWith(frag);
        recount();
      });
      return;
    }
    var cardLink = target.closest("a[data-card]");
    if (cardLink && pane) { ev.preventDefault(); loadCard(cardLink.dataset.card); return; }
    var linkDeal = target.closest("[data-link-deal]");
    if (linkDeal) {
      var form = linkDeal.closest(".card").querySelector('form[data-kind="link"]');
      if (form) { form.elements.deal_id.value = linkDeal.dataset.linkDeal; form.requestSubmit(); }
      return;
    }
    var merge = target.closest("[data-merge]");
    if (merge) {
      post("/api/v1/contacts/" + Number(merge.dataset.merge) + "/merge", {into: Number(merge.dataset.into)})
        .then(function (res) {
          toast(res.ok ? words.merge : problem(res), !res.ok);
          if (res.ok && pane && pane.dataset.card) { loadCard(pane.dataset.card); }
        });
      return;
    }
    var replay = target.closest("[data-replay]");
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
    if (el.matches("select[data-autosubmit]")) { el.form.submit(); return; }
    if (el.matches("#queue .pick")) { picked(); return; }
    if (el.name === "pipeline" && el.form && el.form.dataset.kind === "accept") {
      filterStages(el.form);
      el.form.elements.stage.value = "";
    }
  });

  /* ---- keyboard: j/k move, x select, a accept, d decline (asks why), l link (search) ------------------ */
  function openPanel(card, name, selector) {
    var panel = card && card.querySelector('details[data-panel="' + name + '"]');
    if (!panel) { return; }
    panel.open = true;
    var field = panel.querySelector(selector);
    if (field) { field.focus(); }
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || ev.target.isContentEditable) {
      if (ev.key === "Escape") { ev.target.blur(); }
      return;
    }
    var card = document.querySelector(".card");
    var form;
    switch (ev.key) {
      case "j": if (!inQueue) { return; } move(1); break;
      case "k": if (!inQueue) { return; } move(-1); break;
      case "x":
        form = current && rowOf(current) ? rowOf(current).querySelector(".pick") : null;
        if (form) { form.checked = !form.checked; picked(); }
        break;
      case "a":
        form = card && card.querySelector('form[data-kind="accept"]');
        if (form) { form.requestSubmit(); }
        break;
      case "d": openPanel(card, "decline", 'input[name="reason"]'); break;
      case "l": openPanel(card, "link", 'input[name="q"]'); break;
      default: return;
    }
    ev.preventDefault();
  });

  document.querySelectorAll('form[data-kind="accept"]').forEach(filterStages);
  if (inQueue && rows().length && window.matchMedia("(min-width: 801px)").matches) { choose(rows()[0], false); }
  window.leadGateway = {problem: problem};  // the other scripts of the page say failures the same way
}());
