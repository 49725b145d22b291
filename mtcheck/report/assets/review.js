(function () {
  "use strict";
  var root = document.getElementById("review");
  var dataEl = document.getElementById("report-data");
  if (!root || !dataEl) { return; }
  var data = JSON.parse(dataEl.textContent);
  var flags = data.flags || [];
  var sha = (data.article && data.article.sha256) || "";
  var byId = Object.create(null);
  flags.forEach(function (f) { byId[f.id] = f; });
  var article = document.getElementById("article");
  var progress = document.getElementById("review-progress");
  var counts = document.getElementById("review-counts");
  var fill = document.getElementById("review-fill");
  var modeEl = document.getElementById("review-mode");
  var statusEl = document.getElementById("review-status");
  var whoEl = document.getElementById("review-who");
  // The page's own file name is the report name: <name>.html next to <name>.json.
  var file = "";
  try { file = decodeURIComponent(location.pathname.split("/").pop() || ""); } catch (e) { file = ""; }
  var name = file.replace(/\.html?$/i, "") || "report";
  var KEY = "mtcheck.decisions/1:" + name + ":" + sha;
  var api = "api/decisions/" + encodeURIComponent(name);
  var LABEL = {accept: "Accepted", edit: "Edited", reject: "Rejected"};
  var decisions = Object.create(null);
  var mode = "static";
  var current = null;
  var editing = null;
  var inflight = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function say(msg, bad) { statusEl.textContent = msg || ""; statusEl.classList.toggle("bad", !!bad); }
  function marksFor(id) {
    return article.querySelectorAll('mark.flag[data-flag~="' + CSS.escape(id) + '"]');
  }
  function clean(obj) {
    var out = Object.create(null);
    Object.keys(obj || {}).forEach(function (id) {
      var d = obj[id];
      if (byId[id] && d && LABEL.hasOwnProperty(d.decision)) { out[id] = d; }
    });
    return out;
  }
  // How the flagged passage reads with suggestion s applied (s may reach outside the flag).
  function reading(f, s) {
    if (!s) { return f.text; }
    if (s.start >= f.start && s.end <= f.end) {
      return f.text.slice(0, s.start - f.start) + s.replacement + f.text.slice(s.end - f.start);
    }
    if (typeof s.sentence === "string" && typeof s.sentence_start === "number") {
      var a = Math.min(f.start, s.start) - s.sentence_start;
      var b = Math.max(f.end, s.end) + s.replacement.length - (s.end - s.start) - s.sentence_start;
      if (a >= 0 && a <= b && b <= s.sentence.length) { return s.sentence.slice(a, b); }
    }
    return s.replacement;
  }
  function shown(f, d) {
    var t = d.decision === "accept" ? reading(f, (f.suggestions || [])[d.suggestion]).trim() : d.text;
    return t === "" ? "(deleted)" : t;
  }
  function documentOf() {
    var ordered = {};
    flags.forEach(function (f) { if (decisions[f.id]) { ordered[f.id] = decisions[f.id]; } });
    return {schema: "mtcheck.decisions/1", report: name + ".json", article_sha256: sha, decisions: ordered};
  }

  // --- storage: the review server, else this browser ----------------------------------------------
  function setMode(m, text) {
    mode = m;
    root.setAttribute("data-mode", m);
    modeEl.textContent = text;
  }
  function useBrowser() {
    try {
      var doc = JSON.parse(localStorage.getItem(KEY) || "null");
      decisions = clean(doc && doc.decisions);
    } catch (e) { decisions = Object.create(null); }
    setMode("static", "Decisions are kept in this browser only. Export them to a file for " +
      "`mtcheck apply --decisions FILE`.");
    refresh();
  }
  function keepInBrowser() {
    try { localStorage.setItem(KEY, JSON.stringify(documentOf())); return true; } catch (e) {
      say("This browser will not keep the decisions (" + e.name + "): export them before leaving.", true);
      return false;
    }
  }
  function start() {
    if (!/^https?:$/.test(location.protocol) || !window.fetch) { useBrowser(); return; }
    setMode("connecting", "Connecting to the review server…");
    fetch(api, {cache: "no-store", headers: {"Accept": "application/json"}}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.status === 409) { say(j.error || "The decisions file does not fit this report.", true); }
        if (!r.ok || j.schema !== "mtcheck.decisions/1" || j.article_sha256 !== sha) { throw new Error("no server"); }
        if (r.headers.get("X-Mtcheck-Writable") === "no") { throw new Error("no token"); }
        return j;
      });
    }).then(function (doc) {
      decisions = clean(doc.decisions);
      setMode("server", "Each decision is saved on the review server to " + name + ".decisions.json.");
      refresh();
    }, function (err) {
      useBrowser();
      if (err && err.message === "no token") {
        say("This page was not opened with the review server's token, so it cannot save there: open the " +
          "address `mtcheck review` printed (with ?token=).", true);
      }
    });
  }
  function commit(id, rec) {
    if (mode === "connecting") { say("Still connecting to the review server…", true); return; }
    var done = rec ? LABEL[rec.decision] + " " + id : "Reopened " + id;
    if (mode !== "server") {
      if (rec) { decisions[id] = rec; } else { delete decisions[id]; }
      refresh();
      if (keepInBrowser()) { say(done + " (kept in this browser)"); }
      return;
    }
    var opts = {method: rec ? "PUT" : "DELETE", cache: "no-store", headers: {"Content-Type": "application/json"}};
    if (rec) {
      opts.body = JSON.stringify({decision: rec.decision, suggestion: rec.suggestion, text: rec.text,
        article_sha256: sha, who: rec.who});
    }
    inflight += 1;
    root.setAttribute("data-busy", "true");
    say("Saving " + id + "…");
    fetch(api + "/" + encodeURIComponent(id), opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.error || "HTTP " + r.status); }
        return j;
      });
    }).then(function (j) {
      // This flag from the answer; the others (another tab's work) only when nothing else is on its way.
      if (j.decision) { decisions[id] = j.decision; } else { delete decisions[id]; }
      if (inflight === 1) { decisions = clean(j.decisions); }
      refresh();
      say(done + " — saved");
    }).catch(function (err) {
      say("Not saved: " + err.message, true);
    }).then(function () {
      inflight -= 1;
      if (!inflight) { root.removeAttribute("data-busy"); }
    });
  }
  function decide(id, kind, n, text) {
    var f = byId[id];
    if (!f) { return; }
    var rec = {decision: kind, suggestion: null, text: null, start: f.start, end: f.end,
      who: (whoEl && whoEl.value.trim()) || null, when: new Date().toISOString().replace(/\.\d+Z$/, "Z")};
    if (kind === "accept") {
      var s = (f.suggestions || [])[n];
      if (!s) { say("Flag " + id + " has no suggestion " + (n + 1) + ".", true); return; }
      rec.suggestion = n; rec.text = s.replacement; rec.start = s.start; rec.end = s.end;
    } else if (kind === "edit") {
      rec.text = text;
    }
    commit(id, rec);
  }

  // --- drawing --------------------------------------------------------------------------------------
  function button(label, key, cls, fn) {
    var b = el("button", cls, label);
    b.type = "button";
    if (key) { b.appendChild(el("kbd", null, key)); b.setAttribute("aria-keyshortcuts", key); }
    b.addEventListener("click", fn);
    return b;
  }
  function refresh() {
    each(article.querySelectorAll(".rv-chosen"), function (n) { n.remove(); });
    each(article.querySelectorAll("mark.flag"), function (m) {
      var ds = (m.getAttribute("data-flag") || "").split(/\s+/).filter(Boolean).map(function (id) {
        return decisions[id];
      });
      var all = ds.length > 0 && ds.every(Boolean);
      var fixed = all && ds.some(function (d) { return d.decision !== "reject"; });
      m.classList.toggle("rv-fixed", fixed);
      m.classList.toggle("rv-rejected", all && !fixed);
    });
    var c = {accept: 0, edit: 0, reject: 0};
    var n = 0;
    flags.forEach(function (f) {
      var d = decisions[f.id];
      var li = document.getElementById("item-" + f.id);
      if (li) {
        var old = li.querySelector(".rv-li");
        if (old) { old.remove(); }
        li.setAttribute("data-decision", d ? d.decision : "open");
        if (d) {
          li.appendChild(el("span", "rv-li", d.decision === "reject" ? "✗ rejected (false alarm)"
            : (d.decision === "accept" ? "✓ accepted: " : "✎ edited: ") + "“" + shown(f, d) + "”"));
        }
      }
      if (!d) { return; }
      n += 1;
      c[d.decision] += 1;
      var ms = marksFor(f.id);
      if (d.decision !== "reject" && ms.length) {
        var span = el("span", "rv-chosen", shown(f, d));
        span.setAttribute("data-for", f.id);
        span.title = LABEL[d.decision] + " reading of flag " + f.id;
        ms[ms.length - 1].after(span);
      }
    });
    progress.textContent = n + " / " + flags.length + " decided";
    counts.textContent = c.accept + " accepted · " + c.edit + " edited · " + c.reject + " rejected";
    fill.style.width = (flags.length ? 100 * n / flags.length : 0) + "%";
    decorate();
  }
  function decorate() {
    each(document.querySelectorAll("#panel-body .detail[data-flag-id]"), function (box) {
      var id = box.getAttribute("data-flag-id");
      var f = byId[id];
      if (!f) { return; }
      var d = decisions[id];
      box.classList.toggle("rv-decided", !!d);
      box.classList.toggle("rv-rejected", !!d && d.decision === "reject");
      var old = box.querySelector(".rv");
      if (old) { old.remove(); }
      var bar = el("div", "rv");
      var state = el("p", "rv-state rv-" + (d ? d.decision : "open"));
      if (!d) {
        state.textContent = "Open: not decided yet";
      } else if (d.decision === "reject") {
        state.textContent = "✗ Rejected: a false alarm, the text stays";
      } else {
        state.textContent = (d.decision === "accept" ? "✓ Accepted suggestion " + (d.suggestion + 1)
          : "✎ Edited") + ": ";
        state.appendChild(el("q", null, shown(f, d)));
      }
      bar.appendChild(state);
      if (editing === id) {
        var form = el("div", "rv-editor");
        var input = el("input", "rv-input");
        input.type = "text";
        input.setAttribute("aria-label", "Your reading of the flagged text");
        input.value = d && d.decision === "edit" ? d.text : f.text;
        var save = function () { editing = null; decide(id, "edit", null, input.value); };
        var cancel = function () { editing = null; decorate(); refocus(id); };
        input.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter") { ev.preventDefault(); save(); refocus(id); }
          if (ev.key === "Escape") { ev.preventDefault(); ev.stopPropagation(); cancel(); }
        });
        form.appendChild(input);
        form.appendChild(button("Save", "Enter", "rv-save", function () { save(); refocus(id); }));
        form.appendChild(button("Cancel", "Esc", "rv-cancel", cancel));
        form.appendChild(el("p", "rv-hint", "Replaces the whole flagged passage."));
        bar.appendChild(form);
      } else {
        var acts = el("div", "rv-actions");
        acts.appendChild(button("Reject", "x", "rv-reject", function () { decide(id, "reject"); }));
        acts.appendChild(button("Edit…", "e", "rv-edit", function () { startEdit(id); }));
        if (d) { acts.appendChild(button("Reopen", "u", "rv-undo", function () { commit(id, null); })); }
        bar.appendChild(acts);
      }
      box.querySelector("h3").after(bar);
      each(box.querySelectorAll("ol.suggestions > li"), function (li, i) {
        var prev = li.querySelector(".rv-use");
        if (prev) { prev.remove(); }
        var chosen = !!d && d.decision === "accept" && d.suggestion === i;
        li.classList.toggle("rv-chosen-sugg", chosen);
        var use = button(chosen ? "✓ Chosen" : "Use " + (i + 1), i < 5 ? String(i + 1) : null,
          "rv-use" + (chosen ? " on" : ""), function () { decide(id, "accept", i); });
        li.insertBefore(use, li.firstChild);
      });
    });
  }
  function refocus(id) {
    var m = marksFor(id)[0];
    if (m) { m.focus({preventScroll: true}); }
  }
  function startEdit(id) {
    editing = id;
    decorate();
    var input = document.querySelector("#panel-body .rv-input");
    if (input) { input.focus(); input.select(); }
  }

  // --- events -----------------------------------------------------------------------------------------
  document.addEventListener("mtcheck:open", function (ev) {
    current = ev.detail.ids[0];
    if (editing !== current) { editing = null; }
    decorate();
  });
  document.addEventListener("mtcheck:close", function () { current = null; editing = null; });
  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) { return; }
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    var k = ev.key;
    if (k === "j" || k === "k") {
      ev.preventDefault();
      document.getElementById(k === "j" ? "panel-next" : "panel-prev").click();
      return;
    }
    if (!current || !byId[current]) { return; }
    if (/^[1-5]$/.test(k)) { ev.preventDefault(); decide(current, "accept", Number(k) - 1); }
    else if (k === "x") { ev.preventDefault(); decide(current, "reject"); }
    else if (k === "e") { ev.preventDefault(); startEdit(current); }
    else if (k === "u") { ev.preventDefault(); if (decisions[current]) { commit(current, null); } }
  });
  document.getElementById("review-export").addEventListener("click", function () {
    var doc = documentOf();
    var blob = new Blob([JSON.stringify(doc, null, 1) + "\n"], {type: "application/json"});
    var a = el("a");
    a.href = URL.createObjectURL(blob);
    a.download = name + ".decisions.json";
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    say("Exported " + Object.keys(doc.decisions).length + " decisions as " + a.download);
  });
  if (whoEl) {
    try { whoEl.value = localStorage.getItem("mtcheck.reviewer") || ""; } catch (e) { /* no storage */ }
    whoEl.addEventListener("change", function () {
      try { localStorage.setItem("mtcheck.reviewer", whoEl.value.trim()); } catch (e) { /* no storage */ }
    });
  }
  start();
})();
