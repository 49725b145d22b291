(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var flags = data.flags || [];
  var byId = Object.create(null);
  flags.forEach(function (f, i) { byId[f.id] = f; f._index = i; });
  var article = document.getElementById("article");
  var side = document.getElementById("side");
  var body = document.getElementById("panel-body");
  var heading = document.getElementById("panel-title");
  var hint = body.innerHTML;
  var current = [];
  var trigger = null;
  var SEV = {critical: 2, major: 1, minor: 0};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function sevOf(f) { return SEV.hasOwnProperty(f.severity) ? f.severity : "minor"; }
  function num(v, d) { return (typeof v === "number" && isFinite(v)) ? v.toFixed(d) : "–"; }
  function idsOf(mark) { return (mark.getAttribute("data-flag") || "").split(/\s+/).filter(Boolean); }
  function marksFor(id) {
    return article.querySelectorAll('mark.flag[data-flag~="' + CSS.escape(id) + '"]');
  }

  function detail(f) {
    var sev = sevOf(f);
    var box = el("section", "detail sev-" + sev);
    box.setAttribute("data-flag-id", f.id);
    var h = el("h3");
    h.appendChild(el("span", "badge sev-" + sev, sev));
    h.appendChild(el("span", null, f.id));
    h.appendChild(el("span", "conf", "confidence " + num(f.confidence, 2)));
    box.appendChild(h);
    box.appendChild(el("div", "quote", f.text));
    box.appendChild(el("h4", null, "Reasons"));
    var reasons = f.reasons || [];
    if (reasons.length) {
      var ul = el("ul", "reasons");
      reasons.forEach(function (r) {
        var li = el("li");
        li.appendChild(el("span", "code", r.code));
        li.appendChild(el("span", null, r.message));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    } else {
      box.appendChild(el("p", "empty", "no reasons given"));
    }
    box.appendChild(el("h4", null, "Suggestions"));
    var sugg = f.suggestions || [];
    if (sugg.length) {
      var ol = el("ol", "suggestions");
      sugg.forEach(function (s) {
        var li = el("li");
        var rep = el("div");
        rep.appendChild(el("strong", null, "Replace with: "));
        rep.appendChild(el("span", "mono", s.replacement === "" ? "(delete)" : "“" + s.replacement + "”"));
        li.appendChild(rep);
        if (s.sentence) { li.appendChild(el("div", "sugg-sentence", s.sentence)); }
        var meta = (s.confidence != null ? "confidence " + num(s.confidence, 2) + " · " : "") +
          "gain " + num(s.gain, 1) + (s.source ? " · source: " + s.source : "");
        li.appendChild(el("div", "sugg-meta", meta));
        if (s.why) { li.appendChild(el("div", "sugg-why", s.why)); }
        ol.appendChild(li);
      });
      box.appendChild(ol);
    } else {
      box.appendChild(el("p", "empty", "no suggestions yet"));
    }
    return box;
  }

  function setActive(ids) {
    Array.prototype.forEach.call(article.querySelectorAll("mark.flag.active"), function (m) {
      m.classList.remove("active");
    });
    Array.prototype.forEach.call(document.querySelectorAll(".flag-list li.active"), function (li) {
      li.classList.remove("active");
    });
    ids.forEach(function (id) {
      Array.prototype.forEach.call(marksFor(id), function (m) { m.classList.add("active"); });
      var li = document.getElementById("item-" + id);
      if (li) { li.classList.add("active"); }
    });
  }

  function open(ids, from) {
    ids = ids.filter(function (id) { return byId[id]; });
    if (!ids.length) { return; }
    ids.sort(function (a, b) {
      return (SEV[sevOf(byId[b])] - SEV[sevOf(byId[a])]) || (byId[a]._index - byId[b]._index);
    });
    current = ids;
    if (from) { trigger = from; }
    body.textContent = "";
    ids.forEach(function (id) { body.appendChild(detail(byId[id])); });
    heading.textContent = ids.length > 1 ? "Flags " + ids.join(", ") : "Flag " + ids[0];
    side.classList.add("open");
    side.classList.add("has-selection");
    setActive(ids);
    document.dispatchEvent(new CustomEvent("mtcheck:open", {detail: {ids: ids.slice()}}));
  }

  function close() {
    current = [];
    side.classList.remove("open");
    side.classList.remove("has-selection");
    heading.textContent = "Flag details";
    body.innerHTML = hint;
    setActive([]);
    document.dispatchEvent(new CustomEvent("mtcheck:close"));
    if (trigger && document.contains(trigger)) { trigger.focus({preventScroll: true}); }
  }

  function go(step) {
    if (!flags.length) { return; }
    var i = current.length ? byId[current[0]]._index + step : (step > 0 ? 0 : flags.length - 1);
    i = (i + flags.length) % flags.length;
    var first = marksFor(flags[i].id)[0];
    if (first) { first.focus(); first.scrollIntoView({block: "center"}); }
    open([flags[i].id], first);
  }

  article.addEventListener("click", function (ev) {
    var m = ev.target.closest("mark.flag");
    if (m) { open(idsOf(m), m); }
  });
  article.addEventListener("focusin", function (ev) {
    var m = ev.target.closest && ev.target.closest("mark.flag");
    if (m) { open(idsOf(m), m); }
  });
  article.addEventListener("keydown", function (ev) {
    var m = ev.target.closest && ev.target.closest("mark.flag");
    if (m && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      open(idsOf(m), m);
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && current.length) { close(); }
  });
  document.getElementById("panel-close").addEventListener("click", close);
  document.getElementById("panel-prev").addEventListener("click", function () { go(-1); });
  document.getElementById("panel-next").addEventListener("click", function () { go(1); });

  var list = document.getElementById("flag-list");
  if (list) {
    list.addEventListener("click", function (ev) {
      var a = ev.target.closest("a[data-flag]");
      if (!a) { return; }
      ev.preventDefault();
      var id = a.getAttribute("data-flag");
      var first = marksFor(id)[0];
      if (first) {
        first.scrollIntoView({block: "center", behavior: "smooth"});
        first.focus({preventScroll: true});
      }
      open([id], first || a);
    });
  }

  var showTags = document.getElementById("show-tags");
  if (showTags) {
    showTags.addEventListener("change", function () { article.classList.toggle("show-tags", showTags.checked); });
  }

  var heat = document.getElementById("heat");
  if (heat) {
    heat.addEventListener("click", function (ev) {
      var a = ev.target.closest("a[href^='#']");
      if (!a) { return; }
      var target = document.getElementById(a.getAttribute("href").slice(1));
      if (!target) { return; }
      ev.preventDefault();
      target.scrollIntoView({block: "center", behavior: "smooth"});
      target.classList.remove("flash");
      void target.offsetWidth;
      target.classList.add("flash");
      setTimeout(function () { target.classList.remove("flash"); }, 1600);
    });
  }
})();
