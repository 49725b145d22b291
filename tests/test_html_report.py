"""HTML report pages: structure and escaping (no browser), behaviour in real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest
from conftest import Watched

from mtcheck.core.report import Report
from mtcheck.report.html import render_article, render_index
from reports import flag_json as flag
from reports import make_report

SEED_000 = Path(__file__).parent.parent / "seeds" / "000_00e2884444c43ef8.txt"
HOSTILE = (
    "Hostile <script>alert(1)</script> headline\n\n"
    "The minister said <img src=x onerror=alert(1)> was fine. "
    "Then </textarea> closed nothing.\n\n"
    'A closing </script><script>alert("x")</script> tag and \u2028 line separator & "quotes" \'here\'.\n'
)


# --- reports built by the product's own build_report (tests/reports.py) ----------------------------


def seed_report() -> Report:
    text = SEED_000.read_text(encoding="utf-8").replace("\r\n", "\n")
    text = text.rstrip("\n") + "\n\nShare this article:\n\nBy Jane Doe, Reuters\n"
    suggestion_sentence = (
        "The two sides largely spent eight hours of talks presenting their views on the situation in "
        "Ukraine, which is currently surrounded by about 100,000 Russian troops"
    )
    flags = [
        flag(
            text,
            "on Wednesday. between Russia",
            "critical",
            confidence=0.93,
            reasons=[
                {"code": "broken-boundary", "message": "A sentence starts in lower case after a full stop."},
                {"code": "edit-gain", "message": "Joining the sentences makes them 14.2 nats more probable."},
            ],
        ),
        flag(
            text,
            "currently blocked by",
            "major",
            reasons=[{"code": "lexical-choice", "message": "“blocked” is an unlikely verb here."}],
            suggestions=[
                {
                    "start": text.index("blocked"),
                    "end": text.index("blocked") + len("blocked"),
                    "replacement": "surrounded",
                    "sentence": suggestion_sentence,
                    "sentence_start": text.index("The two sides largely"),
                    "gain": 9.7,
                    "source": "rewrite",
                    "why": "“surrounded by troops” is the usual collocation.",
                }
            ],
        ),
        flag(text, "blocked by about 100,000", "minor"),  # overlaps the major flag
        flag(text, "deep and tangible", "minor"),
    ]
    return make_report(text, flags, kinds={"Share this article:": "boilerplate", "By Jane Doe, Reuters": "byline"})


# --- parsing helpers ----------------------------------------------------------------------------


class _Marks(HTMLParser):
    """Collects the text inside each <mark data-flag=...> and the raw contents of every <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[list[str] | None] = []
        self.by_flag: dict[str, str] = {}
        self.marks: list[tuple[list[str], str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "mark":
            ids = (dict(attrs).get("data-flag") or "").split()
            self.stack.append(ids if ids else None)
            self.marks.append((ids, ""))

    def handle_endtag(self, tag):
        if tag == "mark":
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1]:
            ids, old = self.marks[-1]
            self.marks[-1] = (ids, old + data)
            for fid in self.stack[-1]:
                self.by_flag[fid] = self.by_flag.get(fid, "") + data


def _marks(page_html: str) -> _Marks:
    parser = _Marks()
    parser.feed(page_html)
    parser.close()
    return parser


def fid(report: Report, text: str) -> str:
    return next(f.id for f in report.flags if f.text == text)


def _report_data(page_html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page_html, re.S)
    assert m, "no report-data script"
    return json.loads(m.group(1))


def _article_body(page_html: str) -> str:
    m = re.search(r'<article id="article"[^>]*>(.*?)</article>', page_html, re.S)
    assert m
    return m.group(1)


# --- unit tests (no browser) --------------------------------------------------------------------


def test_every_flag_is_inside_its_marks() -> None:
    report = seed_report()
    page = render_article(report)
    marks = _marks(page)
    assert len(report.flags) == 4
    for f in report.flags:
        assert marks.by_flag.get(f.id) == f.text, f.id
        assert f'id="flag-{f.id}"' in page
    crit = fid(report, "on Wednesday. between Russia")
    assert f'data-flag="{crit}"' in page and 'tabindex="0"' in page
    assert "sev-critical" in page and "no suggestions yet" in page  # JS string for empty lists
    # flags crossing a sentence boundary are split into pieces that all carry the flag id
    assert sum(crit in ids for ids, _ in marks.marks) >= 2


def test_page_header_shows_report_metadata() -> None:
    report = seed_report()
    page = render_article(report)
    assert "US-Russia talks over Ukraine" in page
    assert "seeds/test.txt" in page
    assert "smollm2-135m" in page and "sha256 abababababab" in page
    assert report.settings["signature"] in page
    assert "71.3" in page and report.calibration in page
    assert 'class="seg seg-boilerplate"' in page and 'class="seg seg-byline"' in page
    assert page.count('href="#s') == sum(s.kind in ("title", "sentence") for s in report.segments)
    assert "http://" not in page and "https://" not in page  # nothing loaded from the network


def _with_word_tags(report: Report, words: dict[str, float], threshold: float = 0.4) -> Report:
    """The report with word tags: each word of its text at P(BAD) 0.1, those named at their given P(BAD)."""
    from mtcheck.core.report import WordTags

    tags = tuple(
        (m.start(), m.end(), words.get(m.group(), 0.1))
        for m in re.finditer(r"\w+", report.text[: report.text.rfind("Share")])
    )
    return replace(report, word_tags=WordTags(threshold, tags))


def test_word_tags_are_marked_for_showing_on_demand() -> None:
    """A word at or above the threshold sits in a word-tag span (inside a flag's mark too), one below it does
    not; the text reads the same; the switch says how many words are tagged."""
    report = _with_word_tags(seed_report(), {"between": 0.81, "blocked": 0.4, "currently": 0.39})
    page = render_article(report)
    body = _article_body(page)
    tagged = re.findall(r'<span class="wt" title="word tag: P\(BAD\) ([0-9.]+)">([^<]*)</span>', body)
    assert sorted(tagged) == [("0.40", "blocked"), ("0.81", "between")]
    assert re.search(r'<mark [^>]*><span class="wt"[^>]*>between</span></mark>', body)  # in the critical flag
    assert re.sub(r"<[^>]+>", "", _article_body(render_article(seed_report()))) == re.sub(r"<[^>]+>", "", body)
    assert 'id="show-tags"' in page and "2 words at P(BAD) ≥ 0.40" in page
    assert 'id="show-tags"' not in render_article(seed_report())  # no tags: no switch


def test_paragraph_breaks_are_kept() -> None:
    text = "Title line\n\nFirst para one. First para two.\n\nSecond para."
    page = render_article(make_report(text))
    body = _article_body(page)
    assert body.count("<p") == 3
    assert re.sub(r"<[^>]+>", "", body).split("\n") == [
        "Title line",
        "First para one. First para two.",
        "Second para.",
        "",
    ]


def test_overlapping_and_nested_flags() -> None:
    text = "Headline\n\nAlpha beta gamma delta epsilon zeta eta theta.\n"
    flags = [
        flag(text, "beta gamma delta", "minor"),
        flag(text, "gamma delta epsilon", "critical"),  # overlaps the first
        flag(text, "delta", "major"),  # nested in both
        flag(text, "Alpha beta gamma delta epsilon zeta eta theta.", "minor"),  # covers everything
        flag(text, "delta", "minor"),  # identical span to another flag
    ]
    report = make_report(text, flags)
    page = render_article(report)
    marks = _marks(page)
    assert len(report.flags) == 5
    for f in report.flags:
        assert marks.by_flag[f.id] == f.text
    by_text = {t: ids for ids, t in marks.marks}
    delta_ids = by_text["delta"]
    assert sorted(delta_ids) == sorted(f.id for f in report.flags)
    # the piece "delta" is coloured by its highest severity (critical)
    assert re.search(r'<mark class="flag sev-critical multi" data-flag="[^"]*"[^>]*>delta</mark>', page)
    # marks are never nested
    assert not re.search(r"<mark[^>]*>[^<]*<mark", _article_body(page))


def test_hostile_text_is_escaped() -> None:
    evil_reason = [{"code": "x<script>", "message": "</script><script>alert(2)</script>"}]
    evil_sugg = [
        {
            "start": 0,
            "end": 1,
            "replacement": "<img src=y onerror=alert(3)>",
            "sentence": "</script>",
            "gain": 1.0,
            "source": "edit",
            "why": "\u2029</textarea>",
        }
    ]
    flags = [
        flag(HOSTILE, "<img src=x onerror=alert(1)>", "critical", reasons=evil_reason, suggestions=evil_sugg),
        flag(HOSTILE, "</script><script>", "major"),
    ]
    report = make_report(HOSTILE, flags, path='"><script>alert(4)</script>.txt')
    report = replace(
        report,
        settings={**report.settings, "signature": "<script>alert(5)</script>"},
        model={**report.model, "name": '"onmouseover="alert(6)'},
    )
    page = render_article(report)
    low = page.lower()
    assert "<script>alert" not in low
    assert "<img" not in low
    assert "</textarea" not in low
    assert 'onmouseover="alert' not in low
    # Exactly our two script elements, both closed once: the data one cannot be closed early.
    assert low.count("<script") == 2 and low.count("</script") == 2
    assert "\u2028" not in page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    data = _report_data(page)
    assert data["flags"][0]["text"] == "<img src=x onerror=alert(1)>"
    assert data["flags"][0]["reasons"] == evil_reason
    assert data["flags"][0]["suggestions"][0]["why"] == "\u2029</textarea>"
    marks = _marks(page)
    for f in report.flags:
        assert marks.by_flag[f.id] == f.text
    # the inline script is the only one the CSP allows
    assert "Content-Security-Policy" in page and "script-src 'sha256-" in page


def _csp_allows(page_html: str) -> tuple[str, str]:
    """(the page's inline script, the sha256 its CSP allows) for a rendered page."""
    scripts = re.findall(r"<script>(.*?)</script>", page_html, re.S)
    assert len(scripts) == 1, "one inline script per page"
    allowed = re.search(r"script-src 'sha256-([A-Za-z0-9+/=]+)'", page_html)
    assert allowed
    return scripts[0], allowed.group(1)


def test_csp_hash_is_the_inline_script_from_the_assets() -> None:
    assets = files("mtcheck.report") / "assets"
    pages = {
        "article": (render_article(seed_report()), ("article.js", "review.js"), ("base.css", "article.css")),
        "index": (render_index(_summaries(), []), ("index.js",), ("base.css", "index.css")),
    }
    for name, (page, scripts, styles) in pages.items():
        script, allowed = _csp_allows(page)
        assert base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() == allowed, name
        for asset in scripts:  # the JS comes verbatim from the package's asset files ...
            assert (assets / asset).read_text(encoding="utf-8") in script, (name, asset)
        style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
        for asset in styles:  # ... and so does the CSS
            assert (assets / asset).read_text(encoding="utf-8") in style, (name, asset)
    assert "function" in pages["article"][0] and 'getElementById("report-data")' in pages["article"][0]


def test_article_without_flags_or_paragraphs() -> None:
    report = replace(make_report("Just a title\n\nOne sentence only."), paragraphs=())
    page = render_article(report)
    assert "No flags" in page
    assert "One sentence only." in page
    assert _report_data(page) == {"flags": []}


def _summaries() -> list[dict]:
    rows = []
    for i, (fluency, title) in enumerate([(71.3, "Bravo <b>"), (9.5, "Alpha"), (100.0, "Charlie"), (None, "Delta")]):
        rows.append(
            {
                "name": f"a{i}",
                "path": f"in/a{i}.txt",
                "id": f"a{i}",
                "title": title,
                "fluency": fluency,
                "flags": 10 - i,
                "critical": i % 2,
                "major": 3,
                "minor": 2,
                "words": 100 * (i + 1),
                "report_json": f"a{i}.json",
                "report_html": f"a{i}.html",
            }
        )
    rows.append({**rows[0], "name": "evil", "title": "x", "report_html": "javascript:alert(1)", "fluency": 50.0})
    return rows


def test_index_table_and_failures() -> None:
    page = render_index(_summaries(), [{"path": "in/broken.txt", "error": "<script>alert(1)</script> bad"}])
    assert page.count("<tr>") == 1 + 5
    assert 'href="a0.html"' in page and "Bravo &lt;b&gt;" in page
    assert "javascript:" not in page
    assert "in/broken.txt" in page and "&lt;script&gt;alert(1)&lt;/script&gt; bad" in page
    assert "<script>alert" not in page
    for label in ("Title", "Path", "Fluency", "Flags", "Critical", "Major", "Minor", "Words"):
        assert f">{label}</button>" in page


# --- browser tests ------------------------------------------------------------------------------


def _open(watched: Watched, path: Path) -> None:
    watched.page.goto(path.as_uri())
    watched.page.wait_for_load_state("load")


@pytest.mark.browser
def test_browser_article_page(watched: Watched, tmp_path: Path) -> None:
    report = seed_report()
    out = tmp_path / "article.html"
    out.write_text(render_article(report), encoding="utf-8")
    _open(watched, out)
    page = watched.page

    for f in report.flags:
        mark = page.locator(f'mark.flag[data-flag~="{f.id}"]').first
        assert mark.is_visible(), f.id
    assert page.locator(".heat a").count() > 5

    # clicking a flag opens the panel with its reasons
    crit = fid(report, "on Wednesday. between Russia")
    page.locator(f'mark.flag[data-flag~="{crit}"]').first.click()
    panel = page.locator("#panel-body")
    for reason in report.flag(crit).reasons:
        assert reason.message in panel.inner_text()
        assert str(reason.code) in panel.inner_text()
    assert "critical" in panel.inner_text()
    assert "no suggestions yet" in panel.inner_text()

    # the flag with a suggestion shows replacement, corrected sentence, gain, source and why
    major = next(f for f in report.flags if f.suggestions)
    page.locator(f"#flag-list a[data-flag='{major.id}']").click()
    text = panel.inner_text()
    sugg = major.suggestions[0]
    for part in ("surrounded", sugg.sentence, "9.7", "source: rewrite", sugg.why):
        assert part in text

    # keyboard: focus a flag and press Enter
    page.keyboard.press("Escape")
    page.locator(f'mark.flag[data-flag~="{fid(report, "deep and tangible")}"]').first.focus()
    page.keyboard.press("Enter")
    assert "deep and tangible" in panel.inner_text()

    # heat map: a cell's title shows the score; clicking scrolls to its sentence
    cell = page.locator(".heat a").last
    assert "fluency" in (cell.get_attribute("title") or "")
    cell.click()
    target = cell.get_attribute("href")[1:]
    page.wait_for_timeout(700)
    assert page.locator(f"#{target}").is_visible()
    assert page.evaluate(
        "id => { const r = document.getElementById(id).getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }",
        target,
    )

    # the word tags show on demand
    tagged = _with_word_tags(report, {"between": 0.81})
    out.write_text(render_article(tagged), encoding="utf-8")
    _open(watched, out)
    shade = "getComputedStyle(document.querySelector('.wt')).backgroundColor"
    hidden = page.evaluate(shade)
    page.locator("#show-tags").check()
    assert page.evaluate(shade) != hidden
    page.locator("#show-tags").uncheck()
    assert page.evaluate(shade) == hidden

    page.locator(f'mark.flag[data-flag~="{crit}"]').first.click()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path="/tmp/report-shot.png", full_page=True)

    assert watched.errors == []
    assert watched.dialogs == []
    assert all(u.startswith(("file:", "data:")) for u in watched.requests), watched.requests


@pytest.mark.browser
def test_browser_hostile_article(watched: Watched, tmp_path: Path) -> None:
    flags = [
        flag(
            HOSTILE,
            "<img src=x onerror=alert(1)>",
            "critical",
            reasons=[{"code": "<b>x</b>", "message": "<img src=z onerror=alert(7)>"}],
            suggestions=[
                {
                    "start": 0,
                    "end": 1,
                    "replacement": "<script>alert(8)</script>",
                    "sentence": "</script><img src=q onerror=alert(9)>",
                    "gain": 2.5,
                    "source": "edit",
                    "why": "<svg onload=alert(10)>",
                }
            ],
        ),
        flag(HOSTILE, "</script><script>", "major"),
    ]
    report = make_report(HOSTILE, flags)
    out = tmp_path / "hostile.html"
    out.write_text(render_article(report), encoding="utf-8")
    _open(watched, out)
    page = watched.page

    article_text = page.locator("#article").inner_text()
    assert "<script>alert(1)</script>" in page.locator("h1").inner_text()
    assert "<img src=x onerror=alert(1)>" in article_text
    assert "</textarea>" in article_text
    assert '</script><script>alert("x")</script>' in article_text
    page.locator(f'mark.flag[data-flag~="{fid(report, "<img src=x onerror=alert(1)>")}"]').first.click()
    panel_text = page.locator("#panel-body").inner_text()
    assert "<img src=z onerror=alert(7)>" in panel_text
    assert "<svg onload=alert(10)>" in panel_text
    page.wait_for_timeout(300)

    assert page.locator("img, svg, textarea").count() == 0
    assert page.locator("script").count() == 2
    assert page.evaluate("document.querySelectorAll('[onerror],[onload],[onmouseover]').length") == 0
    assert watched.dialogs == []
    assert watched.errors == []


@pytest.mark.browser
def test_browser_index_sorts_numerically(watched: Watched, tmp_path: Path) -> None:
    out = tmp_path / "index.html"
    out.write_text(render_index(_summaries(), [{"path": "in/bad.txt", "error": "not UTF-8"}]), encoding="utf-8")
    _open(watched, out)
    page = watched.page

    def fluency_column() -> list[str]:
        return [t.strip() for t in page.locator("#articles tbody td.fluency").all_inner_texts()]

    page.locator("th[data-key=fluency] button").click()
    assert fluency_column() == ["9.5", "50.0", "71.3", "100.0", "–"]
    assert page.locator("th[data-key=fluency]").get_attribute("aria-sort") == "ascending"
    page.locator("th[data-key=fluency] button").click()
    assert fluency_column() == ["100.0", "71.3", "50.0", "9.5", "–"]
    page.locator("th[data-key=title] button").click()
    titles = [t.strip() for t in page.locator("#articles tbody td.title").all_inner_texts()]
    assert titles == sorted(titles, key=str.lower)
    assert "not UTF-8" in page.locator("#failures").inner_text()
    assert watched.errors == []
    assert watched.dialogs == []
