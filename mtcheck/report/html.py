"""Self-contained HTML views of ``mtcheck.report/1`` reports (see docs/report-schema.md).

``render_article`` turns one report dict into a single HTML page; ``render_index`` renders the table of
all articles of a run. Both pages carry their CSS and JS inline, load nothing from the network and work
when opened from ``file://``.

Everything that comes from the article (text, title, path, reasons, suggestions) is untrusted: it is
HTML-escaped where it is written into markup, and the JSON the page script reads is embedded in a
``<script type="application/json">`` element with ``<``, ``>``, ``&`` and U+2028/U+2029 escaped, so no
article content can close that element. A Content-Security-Policy that allows only the page's own
script (by hash) is a second line of defence.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from collections.abc import Iterable

from mtcheck.core.report import Report

__all__ = ["render_article", "render_index"]

SEVERITIES = ("minor", "major", "critical")  # ascending
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_SEV_BADGE = {"critical": "CRIT", "major": "MAJ", "minor": "min"}
_SEGMENT_LABELS = {"boilerplate": "boilerplate", "byline": "byline"}
_SAFE_SCHEMES = ("http", "https", "file")

# Fluency buckets (ColorBrewer RdYlBu, colour-blind safe): class suffix, lower bound, label.
_FLUENCY_BUCKETS = (
    ("f0", 0.0, "below 40"),
    ("f1", 40.0, "40–55"),
    ("f2", 55.0, "55–70"),
    ("f3", 70.0, "70–85"),
    ("f4", 85.0, "85 and above"),
)


# --- small helpers ------------------------------------------------------------------------------


def _e(value: object) -> str:
    """Escape any value for HTML text and (double-quoted) attribute context."""
    return html.escape("" if value is None else str(value), quote=True)


def _json_for_script(data: object) -> str:
    """JSON that is safe inside ``<script type="application/json">`` (cannot close the element)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        # the review server's decisions API (same origin); nothing else can be fetched
        "connect-src 'self'; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return float(value)


def _fmt(value: object, digits: int = 1) -> str:
    number = _num(value)
    if number is None:
        return "–"
    if float(number).is_integer() and digits == 0:
        return str(int(number))
    return f"{number:.{digits}f}"


def _int(value: object) -> int:
    number = _num(value)
    return int(number) if number is not None else 0


def _severity(flag: dict) -> str:
    sev = flag.get("severity")
    return sev if sev in _SEV_RANK else "minor"


def _fluency_class(fluency: object) -> str:
    number = _num(fluency)
    if number is None:
        return "fna"
    cls = _FLUENCY_BUCKETS[0][0]
    for name, lower, _label in _FLUENCY_BUCKETS:
        if number >= lower:
            cls = name
    return cls


def _safe_href(url: object) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return None
    match = re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.\-]*):", url)
    if match and match.group(1).lower() not in _SAFE_SCHEMES and len(match.group(1)) > 1:
        return None  # javascript:, data:, vbscript: ... (one letter = Windows drive "C:")
    return url


def _page(title: str, body: str, css: str, script: str, extra_head: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp(script)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{_e(title)}</title>\n<style>{css}</style>\n{extra_head}</head>\n"
        f"<body>\n{body}\n<script>{script}</script>\n</body>\n</html>\n"
    )


# --- shared CSS ---------------------------------------------------------------------------------

_BASE_CSS = """
:root{color-scheme:light;--fg:#1b1b1f;--muted:#5c5c66;--line:#d9d9e0;--bg:#fff;--soft:#f5f5f8;
--accent:#1a56db;--crit:#b00020;--crit-bg:#ffd9d6;--major:#9a4300;--major-bg:#ffe4c2;
--minor:#6b5a00;--minor-bg:#fff1a8;
--f0:#d73027;--f1:#fc8d59;--f2:#fee090;--f3:#91bfdb;--f4:#4575b4;--fna:#c9c9cf}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:var(--bg);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
a{color:var(--accent)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.88em}
h1{font-size:1.55rem;line-height:1.25;margin:0 0 .4rem}
h2{font-size:1.1rem;margin:1.6rem 0 .6rem}
.muted{color:var(--muted)}
.badge{display:inline-block;border-radius:.3em;padding:.05em .45em;font-size:.78em;font-weight:650;
letter-spacing:.02em;line-height:1.4;vertical-align:.08em;white-space:nowrap;border:1px solid transparent}
.badge.sev-critical{background:var(--crit);color:#fff}
.badge.sev-major{background:var(--major);color:#fff}
.badge.sev-minor{background:var(--minor-bg);color:#3d3300;border-color:#b8a200}
.chip{display:inline-block;width:.8em;height:.8em;border-radius:.2em;vertical-align:-.05em;
border:1px solid rgba(0,0,0,.25)}
.f0{background:var(--f0)}.f1{background:var(--f1)}.f2{background:var(--f2)}.f3{background:var(--f3)}
.f4{background:var(--f4)}
.fna{background:var(--fna);background-image:repeating-linear-gradient(45deg,transparent 0 3px,
rgba(255,255,255,.7) 3px 5px)}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
"""

# --- article page -------------------------------------------------------------------------------

_ARTICLE_CSS = (
    _BASE_CSS
    + """
.wrap{max-width:1280px;margin:0 auto;padding:1.25rem 1.25rem 3rem}
header.top{border-bottom:1px solid var(--line);padding-bottom:1rem;margin-bottom:1rem}
.meta{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15rem .9rem;margin:.6rem 0 0;
font-size:.9rem}
.meta dt{color:var(--muted)}
.meta dd{margin:0;overflow-wrap:anywhere}
.scoreline{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.2rem;margin-top:.9rem}
.fluency-big{font-size:2rem;font-weight:700;line-height:1}
.fluency-big small{font-size:.9rem;font-weight:500;color:var(--muted)}
.counts{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
.calibration{font-size:.88rem;color:var(--muted);max-width:75ch;margin:.6rem 0 0}
.layout{display:grid;grid-template-columns:minmax(0,75ch) minmax(300px,1fr);gap:2rem;align-items:start}
.legend{display:flex;flex-wrap:wrap;gap:.4rem 1.1rem;font-size:.85rem;margin:.2rem 0 .9rem;
padding:.5rem .7rem;background:var(--soft);border-radius:.4rem}
.legend .item{display:inline-flex;align-items:center;gap:.35rem}
.legend .scale{display:inline-flex;gap:2px;align-items:center}
.heat-wrap{margin:0 0 1.2rem}
.heat-title{font-size:.85rem;color:var(--muted);margin:0 0 .3rem}
.heat{display:flex;flex-wrap:wrap;gap:2px}
.heat a{display:block;width:11px;height:22px;border-radius:2px;position:relative;outline-offset:1px}
.heat a:hover,.heat a:focus-visible{outline:2px solid var(--fg)}
.heat a.has-flag::after{content:"";position:absolute;left:3px;right:3px;bottom:2px;height:3px;
border-radius:1px;background:#111}
.heat a.title-cell{width:16px}
#article{font-size:1.05rem;line-height:1.7;max-width:75ch}
#article p{margin:0 0 1em;white-space:pre-line;overflow-wrap:break-word}
#article p.title-para{font-size:1.2rem;font-weight:650;line-height:1.4}
.seg{scroll-margin-top:35vh;border-radius:2px;transition:background-color .4s}
.seg.flash{background:#dbe7ff;box-shadow:0 0 0 3px #dbe7ff}
.seg-boilerplate,.seg-byline{color:#62626b;font-size:.9em}
.seg-boilerplate::before,.seg-byline::before{content:attr(data-label);display:inline-block;
font-size:.68rem;font-weight:600;letter-spacing:.04em;text-transform:uppercase;color:#4d4d57;
background:#ececf1;border:1px solid #d2d2da;border-radius:.25rem;padding:0 .3rem;margin-right:.35rem;
vertical-align:.12em;line-height:1.5;white-space:nowrap}
mark.flag{color:inherit;cursor:pointer;border-radius:2px;padding:.05em 0;
text-decoration-line:underline;text-underline-offset:.22em;-webkit-box-decoration-break:clone;
box-decoration-break:clone}
mark.flag.sev-critical{background:var(--crit-bg);text-decoration-style:solid;
text-decoration-color:var(--crit);text-decoration-thickness:3px}
mark.flag.sev-major{background:var(--major-bg);text-decoration-style:dashed;
text-decoration-color:var(--major);text-decoration-thickness:2px}
mark.flag.sev-minor{background:var(--minor-bg);text-decoration-style:dotted;
text-decoration-color:var(--minor);text-decoration-thickness:2px}
mark.flag.multi{background-image:linear-gradient(rgba(0,0,0,.09),rgba(0,0,0,.09))}
mark.flag[data-badge]::after{content:attr(data-badge);font-size:.6em;font-weight:700;
vertical-align:super;line-height:0;margin-left:.15em;letter-spacing:.03em}
mark.flag.sev-critical[data-badge]::after{color:var(--crit)}
mark.flag.sev-major[data-badge]::after{color:var(--major)}
mark.flag.sev-minor[data-badge]::after{color:var(--minor)}
mark.flag:focus{outline:none}
mark.legend-mark{cursor:default}
mark.flag.active{box-shadow:0 -2px 0 0 var(--accent),0 3px 0 0 var(--accent)}
mark.flag.sev-critical.active{background-color:#ffb3ac}
mark.flag.sev-major.active{background-color:#ffcc8a}
mark.flag.sev-minor.active{background-color:#ffe35a}
mark.flag:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.flag-anchor{scroll-margin-top:35vh}
aside.side{position:sticky;top:1rem;max-height:calc(100vh - 2rem);overflow:auto}
#panel{border:1px solid var(--line);border-radius:.5rem;background:#fff;
box-shadow:0 1px 3px rgba(0,0,0,.06)}
#panel .panel-head{display:flex;justify-content:space-between;align-items:center;gap:.5rem;
padding:.55rem .8rem;border-bottom:1px solid var(--line);background:var(--soft);
border-radius:.5rem .5rem 0 0}
#panel .panel-head h2{margin:0;font-size:1rem}
#panel .panel-nav{display:flex;gap:.3rem}
#panel button{font:inherit;font-size:.85rem;padding:.2rem .55rem;border:1px solid #b9b9c3;
border-radius:.3rem;background:#fff;color:var(--fg);cursor:pointer}
#panel button:hover{background:var(--soft)}
#panel button:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
#panel-body{padding:.7rem .9rem;font-size:.93rem}
#panel-body .hint{color:var(--muted);margin:.2rem 0}
.detail + .detail{border-top:1px solid var(--line);margin-top:.8rem;padding-top:.8rem}
.detail h3{font-size:1rem;margin:0 0 .4rem;display:flex;flex-wrap:wrap;align-items:center;gap:.45rem}
.detail .quote{margin:.3rem 0 .6rem;padding:.35rem .6rem;border-left:4px solid var(--line);
background:var(--soft);white-space:pre-wrap;overflow-wrap:anywhere}
.detail.sev-critical .quote{border-left-color:var(--crit)}
.detail.sev-major .quote{border-left-color:var(--major)}
.detail.sev-minor .quote{border-left-color:#b8a200}
.detail h4{font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
margin:.7rem 0 .3rem}
.detail ul,.detail ol{margin:0;padding-left:1.2rem}
.detail li{margin:.25rem 0;overflow-wrap:anywhere}
.detail .code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.82em;
background:#eef0f6;border-radius:.25rem;padding:0 .3rem;margin-right:.3rem}
.detail .sugg-sentence{margin:.2rem 0;padding:.25rem .5rem;background:#eef7ee;border-radius:.3rem;
white-space:pre-wrap}
.detail .sugg-meta{font-size:.85em;color:var(--muted)}
.detail .empty{color:var(--muted);font-style:italic;margin:.2rem 0}
.conf{font-size:.85rem;color:var(--muted);font-weight:500}
.flag-list{list-style:none;padding:0;margin:0;max-width:75ch}
.flag-list li{padding:.45rem .2rem;border-top:1px solid var(--line)}
.flag-list li.active{background:#eef3ff}
.flag-list a{text-decoration:none;color:var(--fg);display:block}
.flag-list a:hover .ftext,.flag-list a:focus .ftext{text-decoration:underline}
.flag-list .fid{font-weight:650;margin:0 .35rem}
.flag-list .ftext{overflow-wrap:anywhere}
.flag-list .freason{display:block;font-size:.85rem;color:var(--muted);margin-top:.1rem}
.flag-list .fpos{font-size:.8rem;color:var(--muted);margin-left:.35rem}
.none{color:var(--muted);font-style:italic}
#panel .close{display:none}
@media (max-width:900px){
 .wrap{padding:1rem .85rem 45vh}
 .layout{display:block}
 aside.side{position:fixed;left:0;right:0;bottom:0;top:auto;max-height:50vh;z-index:10;
 padding:0;margin:0}
 #panel{border-radius:.6rem .6rem 0 0;box-shadow:0 -4px 18px rgba(0,0,0,.18)}
 aside.side:not(.open){display:none}
 #panel .close{display:inline-block}
 #article{font-size:1rem}
}
@media print{aside.side,.heat-wrap{display:none}.layout{display:block}}
"""
)

_ARTICLE_JS = r"""
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
        var meta = "gain " + num(s.gain, 1) + (s.source ? " · source: " + s.source : "");
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
"""


# --- review UI (mtcheck review / static decisions) -----------------------------------------------
# Added to every article page. Served by `mtcheck review`, decisions go to the server's API; opened from
# disk, they are kept in localStorage and exported as a file. The main script announces the open flag
# with "mtcheck:open"/"mtcheck:close" events; this one adds the decision controls to the panel.

_REVIEW_CSS = """
#review{border:1px solid var(--line);border-radius:.5rem;background:#fff;margin:0 0 .8rem;
padding:.6rem .8rem .55rem;font-size:.9rem;box-shadow:0 1px 3px rgba(0,0,0,.06)}
#review .rv-top{display:flex;justify-content:space-between;align-items:baseline;gap:.3rem .8rem;flex-wrap:wrap}
#review-progress{font-size:1rem}
#review-counts{font-size:.82rem}
.rv-meter{height:6px;background:#ececf1;border-radius:3px;overflow:hidden;margin:.35rem 0 .4rem}
.rv-meter span{display:block;height:100%;width:0;background:#2e7d32;transition:width .25s}
#review-mode{margin:.15rem 0;font-size:.82rem}
.rv-tools{display:flex;flex-wrap:wrap;gap:.4rem .6rem;align-items:center;margin:.45rem 0 .2rem}
.rv-tools label{font-size:.82rem;color:var(--muted);display:inline-flex;gap:.3rem;align-items:center}
.rv-tools input{font:inherit;font-size:.85rem;padding:.15rem .35rem;border:1px solid #b9b9c3;border-radius:.3rem;
width:8.5rem}
#review button,#panel .rv button,#panel .rv-use{font:inherit;font-size:.85rem;padding:.2rem .55rem;
border:1px solid #b9b9c3;border-radius:.3rem;background:#fff;color:var(--fg);cursor:pointer;line-height:1.35}
#review button:hover,#panel .rv button:hover{background:var(--soft)}
#review button:focus-visible,#review input:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
.rv-keys{font-size:.78rem;color:var(--muted);margin:.35rem 0 0;line-height:1.7}
kbd{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.78em;border:1px solid #c4c4cc;
border-bottom-width:2px;border-radius:.25rem;padding:0 .3em;background:#f7f7f9;color:#333;margin-left:.3em}
.rv-keys kbd{margin:0 .1em}
#review-status{min-height:1.2em;margin:.25rem 0 0;font-size:.82rem;color:#1b5e20}
#review-status.bad{color:var(--crit)}
.rv{margin:.1rem 0 .6rem;padding:.45rem .55rem;border-radius:.35rem;background:#f7f8fb;border:1px solid var(--line)}
.rv-state{margin:0 0 .4rem;font-weight:600;overflow-wrap:anywhere}
.rv-state.rv-accept,.rv-state.rv-edit{color:#1b5e20}
.rv-state.rv-reject{color:#4d4d57}
.rv-state.rv-open{color:var(--muted);font-weight:500}
.rv-state q{font-weight:500;background:#d7f0d8;border-radius:2px;padding:0 .2em}
.rv-actions,.rv-editor{display:flex;flex-wrap:wrap;gap:.35rem}
.rv-input{flex:1 1 100%;font:inherit;padding:.3rem .45rem;border:2px solid var(--accent);border-radius:.3rem}
.rv-hint{flex:1 1 100%;font-size:.78rem;color:var(--muted);margin:0}
ol.suggestions li{position:relative}
#panel .rv-use{float:right;margin:0 0 .25rem .5rem}
#panel .rv-use.on{background:#2e7d32;border-color:#2e7d32;color:#fff}
ol.suggestions li.rv-chosen-sugg{background:#eaf6eb;box-shadow:0 0 0 2px #2e7d32;border-radius:.3rem;
padding:.2rem .3rem}
#panel .detail.rv-decided .quote{text-decoration:line-through;text-decoration-color:#8a8a94}
#panel .detail.rv-rejected .quote{text-decoration:none}
mark.flag.rv-fixed{background:#eceef1;color:#5f6368;text-decoration-line:line-through;text-decoration-style:solid;
text-decoration-color:#6b6b75;text-decoration-thickness:1.5px}
mark.flag.rv-rejected{background:transparent;text-decoration-line:underline;text-decoration-style:dotted;
text-decoration-color:#9a9aa5;text-decoration-thickness:1px}
mark.flag.rv-fixed.active,mark.flag.rv-rejected.active{background:#e3e9f7}
mark.flag.rv-fixed[data-badge]::after,mark.flag.rv-rejected[data-badge]::after{display:inline-block;
text-decoration:none;font-size:.72em;font-weight:700}
mark.flag.rv-fixed[data-badge]::after{content:"✓";color:#2e7d32}
mark.flag.rv-rejected[data-badge]::after{content:"✗";color:#7a7a84}
.rv-chosen{background:#d7f0d8;color:#0d4a12;border-radius:2px;padding:.05em .2em;margin-left:.2em;
-webkit-box-decoration-break:clone;box-decoration-break:clone}
.rv-chosen::before{content:"→ ";color:#2e7d32;font-weight:700}
.flag-list li[data-decision=accept] .ftext,.flag-list li[data-decision=edit] .ftext{text-decoration:line-through;
color:var(--muted)}
.flag-list li[data-decision=reject] .ftext{color:var(--muted)}
.flag-list .rv-li{display:block;font-size:.85rem;margin-top:.1rem;color:#1b5e20;overflow-wrap:anywhere}
.flag-list li[data-decision=reject] .rv-li{color:#4d4d57}
@media (max-width:900px){
 aside.side.open{background:#fff}
 #review{margin:0;border-radius:.6rem .6rem 0 0;box-shadow:0 -4px 18px rgba(0,0,0,.18);padding:.45rem .8rem}
 #review-mode,#review .rv-keys{display:none}
 #review ~ #panel{border-radius:0;box-shadow:none}
}
"""

_REVIEW_JS = r"""
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
        return j;
      });
    }).then(function (doc) {
      decisions = clean(doc.decisions);
      setMode("server", "Each decision is saved on the review server to " + name + ".decisions.json.");
      refresh();
    }, useBrowser);
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
"""


def _review_box(total: int) -> str:
    if not total:
        return ""
    return (
        '<section id="review" aria-label="Review" data-mode="static">'
        f'<div class="rv-top"><strong id="review-progress">0 / {total} decided</strong>'
        '<span id="review-counts" class="muted"></span></div>'
        '<div class="rv-meter" aria-hidden="true"><span id="review-fill"></span></div>'
        '<p id="review-mode" class="muted">Decisions are kept in this browser only.</p>'
        '<div class="rv-tools"><label>Reviewer <input id="review-who" type="text" autocomplete="name" '
        'placeholder="optional" maxlength="200"></label>'
        '<button type="button" id="review-export">Export decisions</button></div>'
        '<p class="rv-keys"><kbd>j</kbd>/<kbd>k</kbd> next/previous · <kbd>1</kbd>–<kbd>5</kbd> use suggestion · '
        "<kbd>x</kbd> reject · <kbd>e</kbd> edit · <kbd>u</kbd> reopen</p>"
        '<p id="review-status" role="status" aria-live="polite"></p>'
        "</section>"
    )


def _cut_points(lo: int, hi: int, ranges: Iterable[tuple[int, int]]) -> list[int]:
    cuts = {lo, hi}
    for start, end in ranges:
        if lo < start < hi:
            cuts.add(start)
        if lo < end < hi:
            cuts.add(end)
    return sorted(cuts)


def _clean_ranges(items: list, text_len: int) -> list[tuple[int, int, dict]]:
    """(start, end, item) for items with valid integer offsets, clipped to the text."""
    out = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        start, end = item.get("start"), item.get("end")
        if isinstance(start, bool) or isinstance(end, bool):
            continue
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        start, end = max(0, start), min(text_len, end)
        if end > start:
            out.append((start, end, item))
    return out


def _paragraph_ranges(report: dict, text: str) -> list[tuple[int, int]]:
    paras = [(s, e) for s, e, _ in _clean_ranges(report.get("paragraphs") or [], len(text))]
    if paras:
        return sorted(paras)
    # No paragraphs in the report: split on blank lines ourselves.
    out = []
    for match in re.finditer(r"\S(?:.*?\S)?(?=\n\s*\n|\s*\Z)", text, flags=re.S):
        out.append((match.start(), match.end()))
    return out


def _render_text(text: str, report: dict) -> tuple[str, list[tuple[int, int, int, dict, bool]]]:
    """The article body HTML and, for the heat strip, (segment index, segment, has_flag)."""
    n = len(text)
    segments = _clean_ranges(report.get("segments") or [], n)
    segments.sort(key=lambda r: (r[0], r[1]))
    seg_index = {id(item): i for i, (_, _, item) in enumerate(segments)}
    flags = _clean_ranges(report.get("flags") or [], n)
    flags.sort(key=lambda r: (r[0], r[1]))
    first_piece_done: set[int] = set()
    flag_last_end = {id(f): e for _, e, f in flags}
    flagged_segments: set[int] = set()

    parts: list[str] = []
    for p_start, p_end in _paragraph_ranges(report, text):
        p_segs = [r for r in segments if r[0] < p_end and r[1] > p_start]
        p_flags = [r for r in flags if r[0] < p_end and r[1] > p_start]
        cuts = _cut_points(p_start, p_end, [(s, e) for s, e, _ in p_segs + p_flags])
        is_title = any(seg.get("kind") == "title" for _, _, seg in p_segs)
        parts.append('<p class="title-para">' if is_title else "<p>")
        open_seg = None
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            seg = next((s for s in p_segs if s[0] <= a and b <= s[1]), None)
            seg_item = seg[2] if seg else None
            if seg_item is not open_seg:
                if open_seg is not None:
                    parts.append("</span>")
                if seg_item is not None:
                    parts.append(_segment_open(seg_item, seg_index[id(seg_item)]))
                open_seg = seg_item
            covering = [f for f in p_flags if f[0] <= a and b <= f[1]]
            piece = _e(text[a:b])
            if not covering:
                parts.append(piece)
                continue
            if seg_item is not None:
                flagged_segments.add(seg_index[id(seg_item)])
            for _, _, f in covering:
                if id(f) not in first_piece_done:
                    parts.append(f'<span class="flag-anchor" id="flag-{_e(f.get("id"))}"></span>')
            parts.append(_mark(piece, text[a:b], covering, first_piece_done, flag_last_end, b))
        if open_seg is not None:
            parts.append("</span>")
        parts.append("</p>\n")

    heat = [
        (seg_index[id(item)], s_start, s_end, item, seg_index[id(item)] in flagged_segments)
        for s_start, s_end, item in segments
        if item.get("kind") in ("title", "sentence")
    ]
    return "".join(parts), heat


def _segment_open(seg: dict, index: int) -> str:
    kind = seg.get("kind")
    kind_cls = kind if kind in ("title", "sentence", "boilerplate", "byline") else "other"
    attrs = f' id="s{index}" class="seg seg-{kind_cls}"'
    if kind in _SEGMENT_LABELS:
        attrs += f' data-label="{_e(_SEGMENT_LABELS[kind])}" title="{_e(kind)}: not scored"'
    fluency = _num(seg.get("fluency"))
    if fluency is not None:
        attrs += f' data-fluency="{fluency:.1f}"'
    return f"<span{attrs}>"


def _mark(
    piece_html: str,
    piece_text: str,
    covering: list[tuple[int, int, dict]],
    first_piece_done: set[int],
    flag_last_end: dict[int, int],
    piece_end: int,
) -> str:
    covering = sorted(covering, key=lambda r: (-_SEV_RANK[_severity(r[2])], r[0]))
    top = _severity(covering[0][2])
    ids = [str(f.get("id")) for _, _, f in covering]
    starts_here = [f for _, _, f in covering if id(f) not in first_piece_done]
    for f in starts_here:
        first_piece_done.add(id(f))
    ending = [f for _, _, f in covering if flag_last_end[id(f)] == piece_end]
    cls = f"flag sev-{top}" + (" multi" if len(covering) > 1 else "")
    descr = "; ".join(
        f"{_severity(f)} flag {f.get('id')}"
        + (f" (confidence {_fmt(f.get('confidence'), 2)})" if _num(f.get("confidence")) is not None else "")
        + (f": {f['reasons'][0].get('message', '')}" if _first_reason(f) else "")
        for _, _, f in covering
    )
    attrs = [
        f'class="{cls}"',
        f'data-flag="{_e(" ".join(ids))}"',
        f'data-sev="{top}"',
        f'tabindex="{0 if starts_here else -1}"',
        'role="button"',
        f'title="{_e(descr)}"',
        f'aria-label="{_e(piece_text)} ({_e(descr)})"',
    ]
    if ending:
        badge_sev = max((_severity(f) for f in ending), key=_SEV_RANK.__getitem__)
        attrs.append(f'data-badge="{_SEV_BADGE[badge_sev]}"')
    return f"<mark {' '.join(attrs)}>{piece_html}</mark>"


def _first_reason(flag: dict) -> bool:
    reasons = flag.get("reasons")
    return bool(reasons) and isinstance(reasons, list) and isinstance(reasons[0], dict)


def _heat_strip(heat: list[tuple[int, int, int, dict, bool]], text: str) -> str:
    if not heat:
        return ""
    cells = []
    number = 0
    for index, start, end, seg, has_flag in heat:
        fluency = _num(seg.get("fluency"))
        kind = "title" if seg.get("kind") == "title" else "sentence"
        number += kind == "sentence"
        score = f"fluency {fluency:.1f}" if fluency is not None else "not scored"
        snippet = text[start:end]
        if len(snippet) > 90:
            snippet = snippet[:87].rstrip() + "…"
        label = f"{'Title' if kind == 'title' else f'Sentence {number}'}: {score}"
        label += " (flagged)" if has_flag else ""
        cls = _fluency_class(fluency) + (" has-flag" if has_flag else "") + (" title-cell" if kind == "title" else "")
        cells.append(
            f'<a href="#s{index}" class="{cls}" title="{_e(label + " — " + snippet)}"'
            f' aria-label="{_e(label)}"'
            f' data-fluency="{"" if fluency is None else f"{fluency:.1f}"}"></a>'
        )
    return (
        '<nav class="heat-wrap" aria-label="Sentence fluency">'
        '<p class="heat-title">Sentence fluency (one cell per sentence; hover for the score, click to jump; '
        "a dark bar marks a sentence with a flag)</p>"
        f'<div class="heat" id="heat">{"".join(cells)}</div></nav>'
    )


def _legend() -> str:
    sev = "".join(
        f'<span class="item"><mark class="flag legend-mark sev-{s}" data-badge="{_SEV_BADGE[s]}" '
        f'aria-hidden="true">text</mark><span>{s} ({style})</span></span>'
        for s, style in (("critical", "solid"), ("major", "dashed"), ("minor", "dotted"))
    )
    scale = "".join(
        f'<span class="chip {name}" title="fluency {_e(label)}"></span>' for name, _, label in _FLUENCY_BUCKETS
    )
    return (
        '<div class="legend" aria-label="Legend">'
        + sev
        + '<span class="item"><span class="seg-boilerplate" data-label="boilerplate">greyed</span>'
        "<span>not scored</span></span>" + f'<span class="item"><span class="scale" aria-hidden="true">{scale}</span>'
        "<span>fluency 0 → 100</span></span>"
        + '<span class="item"><span class="chip fna"></span><span>no score</span></span>'
        "</div>"
    )


def _flag_list(report: dict, text: str) -> str:
    flags = _clean_ranges(report.get("flags") or [], len(text))
    flags.sort(key=lambda r: (r[0], r[1]))
    if not flags:
        return '<p class="none">No flags: nothing in this article looks garbled.</p>'
    items = []
    for start, end, f in flags:
        sev = _severity(f)
        fid = str(f.get("id"))
        snippet = text[start:end]
        if len(snippet) > 120:
            snippet = snippet[:117].rstrip() + "…"
        reason = ""
        if _first_reason(f):
            reason = f'<span class="freason">{_e(f["reasons"][0].get("message", ""))}</span>'
        items.append(
            f'<li id="item-{_e(fid)}"><a href="#flag-{_e(fid)}" data-flag="{_e(fid)}">'
            f'<span class="badge sev-{sev}">{sev}</span><span class="fid">{_e(fid)}</span>'
            f'<span class="ftext">“{_e(snippet)}”</span><span class="fpos">@{start}–{end}</span>'
            f"{reason}</a></li>"
        )
    return f'<ol class="flag-list" id="flag-list">{"".join(items)}</ol>'


def _counts(scores: dict) -> str:
    parts = [f'<span class="badge sev-{s}">{_int(scores.get(s))} {s}</span>' for s in reversed(SEVERITIES)]
    return f'<span class="counts"><strong>{_int(scores.get("flags"))} flags</strong>{"".join(parts)}</span>'


def render_article(report: Report) -> str:
    """A self-contained HTML page for one report."""
    report = report.to_json()
    article = report.get("article") or {}
    text = article.get("text") or ""
    if not isinstance(text, str):
        text = str(text)
    model = report.get("model") or {}
    settings = report.get("settings") or {}
    scores = report.get("scores") or {}
    title = article.get("title") or article.get("id") or article.get("path") or "Untitled article"
    fluency = _num(scores.get("fluency"))

    body_html, heat = _render_text(text, report)
    model_sha = str(model.get("sha256") or "")
    meta_rows = [
        ("Path", f"<code>{_e(article.get('path'))}</code>"),
        (
            "Model",
            f"{_e(model.get('name') or 'unknown')}"
            + (f' <code title="{_e(model_sha)}">sha256 {_e(model_sha[:12])}</code>' if model_sha else "")
            + (f' <span class="muted">({_e(model.get("source"))})</span>' if model.get("source") else ""),
        ),
        ("Settings", f"<code>{_e(settings.get('signature') or '–')}</code>"),
        ("Words", _e(_int(article.get("words")))),
    ]
    if article.get("url") and _safe_href(article.get("url")):
        url = str(article["url"])
        meta_rows.insert(1, ("URL", f'<a href="{_e(url)}" rel="noreferrer noopener">{_e(url)}</a>'))
    if article.get("encoding_note"):
        meta_rows.append(("Encoding", _e(article.get("encoding_note"))))
    tool = report.get("tool") or {}
    if report.get("created") or tool:
        meta_rows.append(
            (
                "Created",
                f"{_e(report.get('created') or '–')} "
                f'<span class="muted">by {_e(tool.get("name", "mtcheck"))} '
                f"{_e(tool.get('version', ''))}</span>",
            )
        )
    meta = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta_rows)

    header = (
        '<header class="top">'
        f"<h1>{_e(title)}</h1>"
        f'<dl class="meta">{meta}</dl>'
        '<div class="scoreline">'
        f'<span class="fluency-big" title="article fluency">'
        f'<span class="chip {_fluency_class(fluency)}"></span> '
        f"{_e(_fmt(fluency))}<small> / 100 fluency</small></span>"
        f"{_counts(scores)}</div>"
        f'<p class="calibration">{_e(report.get("calibration") or "")}</p>'
        "</header>"
    )
    flags_in_text = _clean_ranges(report.get("flags") or [], len(text))
    panel = (
        '<aside class="side" id="side" aria-label="Flag details">'
        + _review_box(len(flags_in_text))
        + '<section id="panel" aria-live="polite">'
        '<div class="panel-head"><h2 id="panel-title">Flag details</h2><div class="panel-nav">'
        '<button type="button" id="panel-prev" aria-label="Previous flag">‹ Prev</button>'
        '<button type="button" id="panel-next" aria-label="Next flag">Next ›</button>'
        '<button type="button" id="panel-close" class="close" aria-label="Close details">✕</button>'
        "</div></div>"
        '<div id="panel-body"><p class="hint">Click or focus (Tab, then Enter) a highlighted passage to see '
        "why it was flagged and what could replace it.</p></div>"
        "</section></aside>"
    )
    main = (
        '<div class="layout"><main>'
        + _legend()
        + _heat_strip(heat, text)
        + f'<article id="article" lang="en">{body_html}</article>'
        + "<h2>Flags</h2>"
        + _flag_list(report, text)
        + "</main>"
        + panel
        + "</div>"
    )
    flag_data = [
        {
            "id": str(f.get("id")),
            "start": f.get("start"),
            "end": f.get("end"),
            "text": f.get("text") if isinstance(f.get("text"), str) else text[s:e],
            "severity": _severity(f),
            "confidence": _num(f.get("confidence")),
            "reasons": [r for r in (f.get("reasons") or []) if isinstance(r, dict)],
            "suggestions": [x for x in (f.get("suggestions") or []) if isinstance(x, dict)],
        }
        for s, e, f in sorted(_clean_ranges(report.get("flags") or [], len(text)), key=lambda r: (r[0], r[1]))
    ]
    page_data: dict = {"flags": flag_data}
    if flag_data:  # the review UI ties decisions to this exact article text
        page_data["article"] = {"sha256": article.get("sha256")}
    data_script = f'<script type="application/json" id="report-data">{_json_for_script(page_data)}</script>'
    body = f'<div class="wrap">{header}{main}</div>\n{data_script}'
    return _page(f"{title} — mtcheck report", body, _ARTICLE_CSS + _REVIEW_CSS, _ARTICLE_JS + _REVIEW_JS)


# --- index page ---------------------------------------------------------------------------------

_INDEX_CSS = (
    _BASE_CSS
    + """
.wrap{max-width:1280px;margin:0 auto;padding:1.25rem}
.summary{color:var(--muted);margin:0 0 1rem}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:.5rem}
table{border-collapse:collapse;width:100%;font-size:.93rem}
th,td{padding:.45rem .65rem;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr:last-child td{border-bottom:none}
tbody tr:hover{background:#f7f8fc}
th{background:var(--soft);position:sticky;top:0;white-space:nowrap}
th button{font:inherit;font-weight:650;color:var(--fg);background:none;border:0;padding:0;cursor:pointer}
th button:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
th button::after{content:" ↕";color:#9a9aa5;font-weight:400}
th[aria-sort=ascending] button::after{content:" ▲";color:var(--fg)}
th[aria-sort=descending] button::after{content:" ▼";color:var(--fg)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
th.num button{text-align:right}
td.title{min-width:16rem;max-width:40ch}
td.path{max-width:28ch;overflow-wrap:anywhere;color:var(--muted)}
td.crit-pos{color:var(--crit);font-weight:700}
.failures li{margin:.3rem 0;overflow-wrap:anywhere}
.failures .err{color:var(--crit)}
@media (max-width:700px){.wrap{padding:.8rem .5rem}th,td{padding:.4rem .45rem}td.path{display:none}
th.path{display:none}}
"""
)

_INDEX_JS = r"""
(function () {
  "use strict";
  var table = document.getElementById("articles");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function key(row, col, numeric) {
    var cell = row.cells[col];
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    if (!numeric) { return raw.trim().toLowerCase(); }
    var v = parseFloat(raw);
    return isNaN(v) ? null : v;
  }
  heads.forEach(function (th, col) {
    var btn = th.querySelector("button");
    if (!btn) { return; }
    btn.addEventListener("click", function () {
      var numeric = th.getAttribute("data-sort") === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
      var sign = dir === "ascending" ? 1 : -1;
      var rows = Array.prototype.slice.call(tbody.rows).map(function (r, i) {
        return {row: r, k: key(r, col, numeric), i: i};
      });
      rows.sort(function (a, b) {
        if (a.k === null || b.k === null) {
          if (a.k === b.k) { return a.i - b.i; }
          return a.k === null ? 1 : -1;   // missing values always last
        }
        if (a.k < b.k) { return -sign; }
        if (a.k > b.k) { return sign; }
        return a.i - b.i;
      });
      rows.forEach(function (r) { tbody.appendChild(r.row); });
    });
  });
})();
"""

_INDEX_COLUMNS = (
    ("title", "Title", "text"),
    ("path", "Path", "text"),
    ("fluency", "Fluency", "num"),
    ("flags", "Flags", "num"),
    ("critical", "Critical", "num"),
    ("major", "Major", "num"),
    ("minor", "Minor", "num"),
    ("words", "Words", "num"),
)


def render_index(summaries: list[dict], failures: list[dict]) -> str:
    """``index.html``: a sortable table of all articles of a run, plus the inputs that failed."""
    rows = []
    fluencies = []
    for s in summaries:
        title = s.get("title") or s.get("name") or s.get("id") or s.get("path") or "Untitled"
        href = _safe_href(s.get("report_html"))
        title_html = f'<a href="{_e(href)}">{_e(title)}</a>' if href else _e(title)
        fluency = _num(s.get("fluency"))
        if fluency is not None:
            fluencies.append(fluency)
        cells = [
            f'<td class="title" data-value="{_e(title)}">{title_html}</td>',
            f'<td class="path"><code>{_e(s.get("path"))}</code></td>',
            f'<td class="num fluency" data-value="{"" if fluency is None else fluency}">'
            f'<span class="chip {_fluency_class(fluency)}" aria-hidden="true"></span> {_fmt(fluency)}</td>',
        ]
        for col in ("flags", "critical", "major", "minor", "words"):
            value = _num(s.get(col))
            shown = "–" if value is None else str(int(value)) if value.is_integer() else f"{value:g}"
            cls = "num" + (" crit-pos" if col == "critical" and value else "")
            cells.append(f'<td class="{cls}" data-value="{"" if value is None else value}">{_e(shown)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")

    head = "".join(
        f'<th scope="col" class="{key}{" num" if kind == "num" else ""}" data-sort="{kind}" data-key="{key}">'
        f'<button type="button">{label}</button></th>'
        for key, label, kind in _INDEX_COLUMNS
    )
    mean = f"; mean fluency {sum(fluencies) / len(fluencies):.1f}" if fluencies else ""
    summary = f"{len(summaries)} article{'s' if len(summaries) != 1 else ''} checked{mean}"
    if failures:
        summary += f"; {len(failures)} input{'s' if len(failures) != 1 else ''} failed"
    table = (
        '<div class="table-wrap"><table id="articles"><caption class="sr-only">Articles; click a column '
        f"header to sort</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        if rows
        else '<p class="muted">No articles were checked.</p>'
    )
    fail_html = ""
    if failures:
        items = "".join(
            f'<li><code>{_e(f.get("path"))}</code>: <span class="err">{_e(f.get("error"))}</span></li>'
            for f in failures
        )
        fail_html = f'<h2>Failed inputs</h2><ul class="failures" id="failures">{items}</ul>'
    body = (
        '<div class="wrap"><header><h1>mtcheck reports</h1>'
        f'<p class="summary">{_e(summary)}. '
        "Click a column header to sort; click a title to open its report.</p>"
        f"</header><main>{table}{fail_html}</main></div>"
    )
    return _page("mtcheck reports", body, _INDEX_CSS, _INDEX_JS)
