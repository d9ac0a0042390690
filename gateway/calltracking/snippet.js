/* Lead Gateway call tracking: shows this visitor a number from the site's pool. No dependencies, no personal data:
   a random first-party visitor id, the page, the referrer, UTM tags and ad click ids. */
(function (w, d) {
  "use strict";
  var C = /*CONFIG*/{}, KEY = "_ct_vid", VISIT = "_ct_visit", root = d.documentElement;
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"];
  var CLICKS = ["yclid", "gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid", "dclid", "vkclid", "rb_clickid",
                "_openstat"];
  var session = null, timer = null;

  function state(s) { root.setAttribute("data-ct", s); }
  function store(kind) { try { return w[kind]; } catch (e) { return null; } }

  function visitor() {
    var ls = store("localStorage"), v = null, m;
    try { v = ls && ls.getItem(KEY); } catch (e) {}
    if (!v) { m = d.cookie.match(/(?:^|; )_ct_vid=([0-9a-f]{32})/); v = m && m[1]; }
    if (!v || !/^[0-9a-f]{32}$/.test(v)) {
      var a = new Uint8Array(16), i; v = "";
      w.crypto.getRandomValues(a);
      for (i = 0; i < a.length; i++) { v += ("0" + a[i].toString(16)).slice(-2); }
    }
    try { ls && ls.setItem(KEY, v); } catch (e) {}
    d.cookie = KEY + "=" + v + "; path=/; max-age=31536000; SameSite=Lax";
    return v;
  }

  function pick(q, names) {
    var out = {}, n = 0, i, v;
    for (i = 0; i < names.length; i++) { v = q.get(names[i]); if (v) { out[names[i]] = v.slice(0, 500); n++; } }
    return n ? out : null;
  }

  function visit() {
    // the visit's first touch: tags in this page's address win, else those the visit arrived with
    var q = new URLSearchParams(w.location.search), ss = store("sessionStorage"), saved = null;
    var utm = pick(q, UTM), clicks = pick(q, CLICKS);
    try { saved = JSON.parse(ss && ss.getItem(VISIT) || "null"); } catch (e) {}
    if (!saved || utm || clicks) {
      saved = {utm: utm || {}, click_ids: clicks || {}, referrer: d.referrer || null};
      try { ss && ss.setItem(VISIT, JSON.stringify(saved)); } catch (e) {}
    }
    return saved;
  }

  function shown(n) {
    return n.length === 11 && n.charAt(0) === "7" ?
      "+7 (" + n.slice(1, 4) + ") " + n.slice(4, 7) + "-" + n.slice(7, 9) + "-" + n.slice(9) : "+" + n;
  }

  function swap(number) {
    var els = d.querySelectorAll(C.selector), i, j, el, links;
    for (i = 0; i < els.length; i++) {
      el = els[i];
      links = el.tagName === "A" ? [el] : el.querySelectorAll("a[href^='tel:']");
      if (el.tagName !== "A" && el.closest) { var up = el.closest("a[href^='tel:']"); if (up) { links = [up]; } }
      for (j = 0; j < links.length; j++) { links[j].setAttribute("href", "tel:+" + number); }
      el.textContent = shown(number);
    }
  }

  function tag(v) {
    var forms = d.forms, i, f;
    for (i = 0; i < forms.length; i++) {
      f = forms[i].querySelector("input[name='ct_visitor']");
      if (!f) { f = d.createElement("input"); f.type = "hidden"; f.name = "ct_visitor"; forms[i].appendChild(f); }
      f.value = v;
    }
  }

  function post(path, body, done, fail) {
    var ctl = w.AbortController ? new AbortController() : null, t = setTimeout(function () { ctl && ctl.abort(); }, 8000);
    // text/plain keeps it a simple request: no preflight before the number
    w.fetch(C.api + path, {method: "POST", body: JSON.stringify(body), credentials: "omit", mode: "cors",
                           headers: {"Content-Type": "text/plain"}, signal: ctl && ctl.signal})
      .then(function (r) { clearTimeout(t); return r.ok ? r.json() : Promise.reject(r.status); })
      .then(done, function (e) { clearTimeout(t); fail(e); });
  }

  function start() {
    var v = visitor(), s = visit();
    tag(v);
    post("/sessions", {visitor: v, page: w.location.href, referrer: s.referrer, utm: s.utm, click_ids: s.click_ids},
      function (r) {
        session = r.session || null;
        swap(r.number);
        state(r.default ? "default" : "number");
        if (session && !timer) { timer = setInterval(beat, C.beat * 1000); }
      },
      function () { state("failed"); });  // the page keeps its own number
  }

  function beat() {
    if (!session || d.visibilityState === "hidden") { return; }
    post("/sessions/" + session + "/alive", {page: w.location.href},
      function (r) { if (r.number) { swap(r.number); } },
      function (e) { if (e === 410 || e === 404) { session = null; start(); } });
  }

  function go() {
    try {
      if (!w.fetch || !w.URLSearchParams || !w.crypto) { state("failed"); return; }
      d.addEventListener("visibilitychange", function () { if (d.visibilityState === "visible") { beat(); } });
      start();
    } catch (e) { state("failed"); }
  }

  if (d.readyState === "loading") { d.addEventListener("DOMContentLoaded", go); } else { go(); }
})(window, document);
