"""`mtcheck review` in real Chromium: an editor decides every flag on the review page, two tabs decide at once,
the static page keeps and exports decisions; then `mtcheck apply` applies them."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import Watched
from test_review import EDIT, EXPECTED, TEXT, Setup, run_mtcheck

from mtcheck.review.server import ReviewServer


def _open_flag(page, fid: str) -> None:
    page.locator(f'mark.flag[data-flag~="{fid}"]').first.click()
    assert page.locator("#panel-title").inner_text() == f"Flag {fid}"


def _decide_all(page, expect) -> None:
    """f1: click "Use 2"; then j to f2 (left open), j to f3 and key 1, j to f4 and x, j to f5 and e + Enter."""
    progress = page.locator("#review-progress")
    expect(progress).to_have_text("0 / 5 decided")
    _open_flag(page, "f1")
    page.locator('.detail[data-flag-id="f1"] .rv-use').nth(1).click()
    expect(progress).to_have_text("1 / 5 decided")
    page.keyboard.press("j")
    expect(page.locator("#panel-title")).to_have_text("Flag f2")
    page.keyboard.press("j")
    expect(page.locator("#panel-title")).to_have_text("Flag f3")
    page.keyboard.press("1")
    expect(progress).to_have_text("2 / 5 decided")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(progress).to_have_text("3 / 5 decided")
    page.keyboard.press("j")
    expect(page.locator("#panel-title")).to_have_text("Flag f5")
    page.keyboard.press("e")
    editor = page.locator("#panel-body .rv-input")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("soon soon")
    # Esc cancels without deciding, e opens the editor again
    editor.press("Escape")
    expect(editor).to_have_count(0)
    expect(progress).to_have_text("3 / 5 decided")
    page.keyboard.press("e")
    editor.fill(EDIT)
    editor.press("Enter")
    expect(progress).to_have_text("4 / 5 decided")


def _check_decided_view(page, expect) -> None:
    expect(page.locator("#review-progress")).to_have_text("4 / 5 decided")
    expect(page.locator("#review-counts")).to_have_text("2 accepted · 1 edited · 1 rejected")
    expect(page.locator('.rv-chosen[data-for="f1"]')).to_have_text("Wednesday, between")
    expect(page.locator('.rv-chosen[data-for="f3"]')).to_have_text("NATO will")
    expect(page.locator('.rv-chosen[data-for="f5"]')).to_have_text(EDIT)
    expect(page.locator(".rv-chosen")).to_have_count(3)
    for fid in ("f1", "f3", "f5"):
        expect(page.locator(f'mark.flag[data-flag~="{fid}"]').first).to_have_class(re.compile(r"\brv-fixed\b"))
    expect(page.locator('mark.flag[data-flag~="f4"]').first).to_have_class(re.compile(r"\brv-rejected\b"))
    expect(page.locator('mark.flag[data-flag~="f2"]').first).not_to_have_class(re.compile(r"\brv-"))
    assert page.locator("#item-f4").get_attribute("data-decision") == "reject"
    assert page.locator("#item-f2").get_attribute("data-decision") == "open"


def _expected_changes() -> list[dict]:
    dot = TEXT.index("Wednesday.") + len("Wednesday")
    he = TEXT.index(" He will")
    soon = TEXT.index("soon soon")
    return [
        {"flag": "f1", "decision": "accept", "suggestion": 1, "start": dot, "end": dot + 1, "before": ".",
         "after": ",", "new_start": dot, "new_end": dot + 1},
        {"flag": "f3", "decision": "accept", "suggestion": 0, "start": he, "end": he + 3, "before": " He",
         "after": "", "new_start": he, "new_end": he},
        {"flag": "f5", "decision": "edit", "suggestion": None, "start": soon, "end": soon + 9,
         "before": "soon soon", "after": EDIT, "new_start": soon - 3, "new_end": soon - 3 + len(EDIT)},
    ]  # fmt: skip


def _check_applied(setup: Setup, out: Path, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert (out / "article.txt").read_text(encoding="utf-8") == EXPECTED
    assert setup.article.read_text(encoding="utf-8") == TEXT  # the original is untouched
    log = [json.loads(line) for line in (out / "article.changes.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in c.items() if k not in ("who", "when", "report")} for c in log] == _expected_changes()
    assert all(c["report"] == "article.json" for c in log)
    assert "applied 3 decisions (1 rejected, 1 open, 0 skipped)" in result.stderr


@pytest.mark.browser
def test_review_in_the_browser_then_apply(watched: Watched, setup: Setup, server: ReviewServer) -> None:
    from playwright.sync_api import expect

    page = watched.page
    page.goto(server.login_url)  # the address `mtcheck review` prints; the index links to the article page
    page.locator('a[href="article.html"]').click()
    page.wait_for_selector('#review[data-mode="server"]')
    assert "saved on the review server" in page.locator("#review-mode").inner_text()
    _decide_all(page, expect)
    _check_decided_view(page, expect)
    # the decisions are on disk as they are made
    doc = json.loads(setup.decisions.read_text())
    assert {k: v["decision"] for k, v in doc["decisions"].items()} == {
        "f1": "accept",
        "f3": "accept",
        "f4": "reject",
        "f5": "edit",
    }
    # reload: all kept
    page.reload()
    page.wait_for_selector('#review[data-mode="server"]')
    _check_decided_view(page, expect)
    # u reopens, a click on Use 1 decides again (and both reach the file)
    _open_flag(page, "f4")
    expect(page.locator('.detail[data-flag-id="f4"] .rv-state')).to_contain_text("Rejected")
    page.keyboard.press("u")
    expect(page.locator("#review-progress")).to_have_text("3 / 5 decided")
    expect(page.locator('.detail[data-flag-id="f4"] .rv-state')).to_contain_text("Open")
    page.locator('.detail[data-flag-id="f4"] .rv-reject').click()
    expect(page.locator("#review-progress")).to_have_text("4 / 5 decided")
    _open_flag(page, "f3")
    page.screenshot(path="/tmp/review-shot.png")
    assert watched.errors == []
    assert all(u.startswith(server.url) or u.startswith(("data:", "blob:")) for u in watched.requests)

    out = setup.root / "corrected"
    result = run_mtcheck("apply", str(setup.report_json), "--out", str(out), cwd=setup.root)
    _check_applied(setup, out, result)


@pytest.mark.browser
def test_two_tabs_deciding_at_once_keep_both(chromium, setup: Setup, server: ReviewServer) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        tabs = [context.new_page(), context.new_page()]
        tabs[0].goto(server.login_url)  # the token cookie, for both tabs of this browser
        for tab in tabs:
            tab.goto(server.url + "article.html")
            tab.wait_for_selector('#review[data-mode="server"]')
        _open_flag(tabs[0], "f1")
        _open_flag(tabs[1], "f4")
        # both keys go out before either answer is awaited
        tabs[0].keyboard.press("2")
        tabs[1].keyboard.press("x")
        for tab in tabs:
            expect(tab.locator("#review-status")).to_contain_text("saved")
        doc = json.loads(setup.decisions.read_text())
        assert {k: v["decision"] for k, v in doc["decisions"].items()} == {"f1": "accept", "f4": "reject"}
        tabs[0].reload()
        tabs[0].wait_for_selector('#review[data-mode="server"]')
        expect(tabs[0].locator("#review-progress")).to_have_text("2 / 5 decided")
    finally:
        context.close()


@pytest.mark.browser
def test_page_opened_without_the_token_saves_nothing_on_the_server(
    watched: Watched, setup: Setup, server: ReviewServer
) -> None:
    """A page that did not come through the printed address (no token cookie) keeps decisions in the browser and
    says why; the server's decisions file is never written."""
    from playwright.sync_api import expect

    page = watched.page
    page.goto(server.url + "article.html")
    page.wait_for_selector('#review[data-mode="static"]')
    expect(page.locator("#review-status")).to_contain_text("token")
    _open_flag(page, "f4")
    page.keyboard.press("x")
    expect(page.locator("#review-status")).to_contain_text("kept in this browser")
    assert not setup.decisions.exists()


@pytest.mark.browser
def test_static_page_keeps_decisions_and_exports_them(watched: Watched, setup: Setup) -> None:
    from playwright.sync_api import expect

    page = watched.page
    page.goto((setup.reports / "article.html").as_uri())
    page.wait_for_selector('#review[data-mode="static"]')
    assert "kept in this browser" in page.locator("#review-mode").inner_text()
    _decide_all(page, expect)
    _check_decided_view(page, expect)
    page.reload()  # kept in localStorage
    page.wait_for_selector('#review[data-mode="static"]')
    _check_decided_view(page, expect)
    with page.expect_download() as download:
        page.locator("#review-export").click()
    assert download.value.suggested_filename == "article.decisions.json"
    exported = setup.root / "downloads" / "article.decisions.json"
    exported.parent.mkdir()
    download.value.save_as(exported)
    doc = json.loads(exported.read_text())
    assert doc["schema"] == "mtcheck.decisions/1" and doc["article_sha256"] == setup.report.article.sha256
    assert watched.errors == []
    assert all(u.startswith(("file:", "data:", "blob:")) for u in watched.requests)

    out = setup.root / "corrected"
    result = run_mtcheck(
        "apply", str(setup.report_json), "--decisions", str(exported), "--out", str(out), cwd=setup.root
    )
    _check_applied(setup, out, result)
    assert not setup.decisions.exists()
