"""Reports made by the real pipeline, opened in real headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEED_NEWS, Watched

from mtcheck.core.report import Report
from mtcheck.pipeline import iter_articles
from mtcheck.report.writer import ReportWriter

HOSTILE = (
    "Officials said the plan <script>alert('xss')</script> was approved on Monday. "
    "A photo <img src=x onerror=alert(1)> showed the site. "
    "The draft ended with </textarea> and </script> markers. . The talks go on."
)


@pytest.fixture(scope="module")
def real_reports(checker, tmp_path_factory) -> Path:
    """Seed 000 and a hostile feed item through reading, scoring, detection and the report writer."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "000.txt").write_text(SEED_NEWS.read_text(encoding="utf-8"), encoding="utf-8")
    # A .txt file is plain text: its markup must reach the page as visible text, never as markup.
    (folder / "hostile.txt").write_text("Hostile <b>item</b> </title>\n\n" + HOSTILE + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("reports")
    writer = ReportWriter(out)
    for article in iter_articles([folder]):
        writer.write(checker.check(article))
    writer.finish()
    return out


@pytest.mark.browser
def test_seed_report_shows_flags_without_console_errors(watched: Watched, real_reports: Path) -> None:
    report = Report.from_json(json.loads((real_reports / "000.json").read_text(encoding="utf-8")))
    page = watched.page
    page.goto((real_reports / "000.html").as_uri())
    page.wait_for_load_state("load")
    assert report.flags
    for flag in report.flags:
        assert page.locator(f'mark.flag[data-flag~="{flag.id}"]').first.is_visible()
    target = next(f for f in report.flags if "He will" in f.text)
    page.locator(f'mark.flag[data-flag~="{target.id}"]').first.click()
    panel_text = page.locator("body").inner_text()
    for reason in target.reasons:
        assert reason.message in panel_text
    # its proposed readings are listed, best first, with the whole corrected sentence
    assert target.suggestions
    assert target.suggestions[0].sentence in panel_text
    page.screenshot(path=str(real_reports / "000.png"), full_page=False)
    assert watched.errors == []
    assert all(url.startswith(("file:", "data:", "about:")) for url in watched.requests)


@pytest.mark.browser
def test_hostile_feed_item_renders_as_text(watched: Watched, real_reports: Path) -> None:
    page = watched.page
    page.goto((real_reports / "hostile.html").as_uri())
    page.wait_for_load_state("load")
    body = page.locator("body").inner_text()
    assert "<script>alert('xss')</script>" in body
    assert "<img src=x onerror=alert(1)>" in body
    assert "</textarea>" in body and "Hostile <b>item</b> </title>" in body
    assert page.locator("img").count() == 0 and page.locator("textarea").count() == 0
    assert watched.dialogs == []
    assert watched.errors == []
    # the doubled full stop in the hostile text is still found and shown
    assert page.locator("mark.flag").count() >= 1
