"""`mtcheck review`: the real server over a tmp reports folder, its API, and the review UI in real Chromium."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Watched
from test_html_report import flag, make_report

from mtcheck.report.html import render_article, render_index
from mtcheck.report.writer import summary_of
from mtcheck.review.server import ReviewServer

TEXT = (
    "Talks end without progress\n\n"
    "The ministers met on Wednesday. between Russia and the US in Geneva. "
    "NATO He will no longer accept new members.\n\n"
    "Officials said the talks were currently blocked by about 100,000 troops. "
    "The sides agreed to meet again soon soon.\n"
)
# What the browser tests decide: f0 suggestion 2 (click), f2 suggestion 1 (key 1), f3 rejected (x),
# f4 edited (e), f1 left open.
EDIT = "within a month"
EXPECTED = (
    "Talks end without progress\n\n"
    "The ministers met on Wednesday, between Russia and the US in Geneva. "
    "NATO will no longer accept new members.\n\n"
    "Officials said the talks were currently blocked by about 100,000 troops. "
    "The sides agreed to meet again within a month.\n"
)


def sugg(text: str, start: int, end: int, replacement: str, why: str) -> dict:
    """A suggestion as the detector writes it; `sentence` is the corrected paragraph (display only)."""
    fixed = text[:start] + replacement + text[end:]
    p_start = text.rfind("\n", 0, start) + 1
    p_end = fixed.find("\n", p_start)
    return {
        "start": start,
        "end": end,
        "replacement": replacement,
        "sentence": fixed[p_start:p_end],
        "sentence_start": p_start,
        "gain": 12.5,
        "source": "edit",
        "why": why,
        "similarity": 0.97,
    }


def review_report(text: str = TEXT, path: str = "article.txt") -> dict:
    dot = text.index("Wednesday.") + len("Wednesday")
    he = text.index(" He will")
    blocked = text.index("blocked")
    soon = text.index("soon soon")
    geneva = text.index("in Geneva")
    flags = [
        flag(
            text,
            "Wednesday. between",
            "critical",
            suggestions=[
                sugg(text, dot, dot + 1, "", "remove the full stop"),
                sugg(text, dot, dot + 1, ",", "a comma joins the sentences"),
            ],
        ),
        flag(text, "in Geneva", "minor", suggestions=[sugg(text, geneva, geneva + 2, "at", "“at Geneva”")]),
        flag(text, "NATO He will", "critical", suggestions=[sugg(text, he, he + 3, "", "delete “He”")]),
        flag(
            text,
            "currently blocked by",
            "major",
            suggestions=[sugg(text, blocked, blocked + 7, "surrounded", "usual collocation")],
        ),
        flag(text, "soon soon", "minor", suggestions=[sugg(text, soon + 4, soon + 9, "", "delete the repeat")]),
    ]
    report = make_report(text, flags, path=path)
    assert [f["text"] for f in report["flags"]] == [
        "Wednesday. between",
        "in Geneva",
        "NATO He will",
        "currently blocked by",
        "soon soon",
    ]
    return report


@dataclass
class Setup:
    root: Path
    reports: Path
    article: Path
    report: dict
    name: str = "article"

    @property
    def report_json(self) -> Path:
        return self.reports / f"{self.name}.json"

    @property
    def decisions(self) -> Path:
        return self.reports / f"{self.name}.decisions.json"


def write_setup(root: Path, text: str = TEXT, suffix: str = ".txt", raw: bytes | None = None) -> Setup:
    """A real article file plus its report (.json, .html via the real renderer) and index.html."""
    inputs, reports = root / "in", root / "reports"
    inputs.mkdir(parents=True, exist_ok=True)
    reports.mkdir(parents=True, exist_ok=True)
    article = inputs / f"article{suffix}"
    article.write_bytes(raw if raw is not None else text.encode("utf-8"))
    report = review_report(text, path=str(article))
    report["article"]["format"] = suffix.lstrip(".")
    (reports / "article.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (reports / "article.html").write_text(render_article(report), encoding="utf-8")
    (reports / "index.html").write_text(render_index([summary_of(report, "article")], []), encoding="utf-8")
    return Setup(root, reports, article, report)


@contextlib.contextmanager
def running(folder: Path) -> Iterator[ReviewServer]:
    """The real review server on a free loopback port, in a thread."""
    server = ReviewServer(folder, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def request(
    server: ReviewServer, method: str, path: str, body: object = None, headers: dict | None = None
) -> tuple[int, bytes]:
    """A raw HTTP request: http.client sends the path exactly as given (no normalising of ..)."""
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def run_mtcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mtcheck", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def put(setup: Setup, server: ReviewServer, fid: str, **body) -> tuple[int, bytes]:
    body.setdefault("article_sha256", setup.report["article"]["sha256"])
    return request(server, "PUT", f"/api/decisions/article/{fid}", body)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return write_setup(tmp_path)


@pytest.fixture
def server(setup: Setup) -> Iterator[ReviewServer]:
    with running(setup.reports) as srv:
        yield srv


# --- the API ------------------------------------------------------------------------------------------


def test_put_get_delete_round_trip(setup: Setup, server: ReviewServer) -> None:
    status, body = request(server, "GET", "/api/decisions/article")
    assert status == 200
    assert json.loads(body) == {
        "schema": "mtcheck.decisions/1",
        "report": "article.json",
        "article_sha256": setup.report["article"]["sha256"],
        "decisions": {},
    }
    assert not setup.decisions.exists()  # reading creates nothing
    assert put(setup, server, "f2", decision="accept", suggestion=0, who="Ana")[0] == 200
    assert put(setup, server, "f3", decision="reject")[0] == 200
    status, body = put(setup, server, "f4", decision="edit", text=EDIT)
    assert status == 200 and set(json.loads(body)["decisions"]) == {"f2", "f3", "f4"}
    doc = json.loads(setup.decisions.read_text())
    he = TEXT.index(" He will")
    soon = TEXT.index("soon soon")
    f3 = setup.report["flags"][3]
    assert doc["report"] == "article.json" and doc["schema"] == "mtcheck.decisions/1"
    d = doc["decisions"]
    assert {k: v for k, v in d["f2"].items() if k != "when"} == {
        "decision": "accept",
        "suggestion": 0,
        "text": "",
        "start": he,
        "end": he + 3,
        "who": "Ana",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["f2"]["when"])
    assert (d["f3"]["decision"], d["f3"]["text"], d["f3"]["start"], d["f3"]["end"]) == (
        "reject",
        None,
        f3["start"],
        f3["end"],
    )
    assert (d["f4"]["text"], d["f4"]["start"], d["f4"]["end"], d["f4"]["suggestion"]) == (EDIT, soon, soon + 9, None)
    # DELETE reopens one flag and keeps the others
    status, body = request(server, "DELETE", "/api/decisions/article/f3")
    assert status == 200
    assert list(json.loads(setup.decisions.read_text())["decisions"]) == ["f2", "f4"]
    # a client cannot smuggle its own span or text into an "accept"
    put(setup, server, "f0", decision="accept", suggestion=1, text="EVIL", start=0, end=5)
    rec = json.loads(setup.decisions.read_text())["decisions"]["f0"]
    dot = TEXT.index("Wednesday.") + len("Wednesday")
    assert (rec["text"], rec["start"], rec["end"]) == (",", dot, dot + 1)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_bad_requests_get_4xx_and_change_nothing(setup: Setup, server: ReviewServer) -> None:
    assert put(setup, server, "f0", decision="reject")[0] == 200
    before = _tree(setup.root)
    sha = setup.report["article"]["sha256"]
    cases = [
        # (method, path, body, expected status)
        ("PUT", "/api/decisions/article/f99", {"decision": "reject", "article_sha256": sha}, 404),
        ("PUT", "/api/decisions/article/f1", b"{not json", 400),
        ("PUT", "/api/decisions/article/f1", b"[1, 2]", 400),
        ("PUT", "/api/decisions/article/f1", {"decision": "maybe", "article_sha256": sha}, 400),
        ("PUT", "/api/decisions/article/f1", {"decision": "accept", "suggestion": 7, "article_sha256": sha}, 400),
        ("PUT", "/api/decisions/article/f1", {"decision": "edit", "text": None, "article_sha256": sha}, 400),
        ("PUT", "/api/decisions/article/f1", {"decision": "reject", "article_sha256": "0" * 64}, 409),
        ("PUT", "/api/decisions/article/f1", {"decision": "reject"}, 409),
        ("PUT", "/api/decisions/nosuch/f1", {"decision": "reject", "article_sha256": sha}, 404),
        ("GET", "/api/decisions/nosuch", None, 404),
        ("DELETE", "/api/decisions/nosuch/f0", None, 404),
        ("DELETE", "/api/decisions/article/f99", None, 404),
        ("GET", "/nosuch.html", None, 404),
        # methods
        ("POST", "/api/decisions/article/f1", {"decision": "reject", "article_sha256": sha}, 405),
        ("PATCH", "/api/decisions/article/f1", {"decision": "reject", "article_sha256": sha}, 405),
        ("GET", "/api/decisions/article/f1", None, 405),
        ("DELETE", "/api/decisions/article", None, 405),
        ("PUT", "/article.html", {"x": 1}, 405),
        ("DELETE", "/article.json", None, 405),
        ("POST", "/", b"x", 405),
    ]
    for method, path, body, expected in cases:
        status, answer = request(server, method, path, body)
        assert status == expected, (method, path, status, answer)
        assert "error" in json.loads(answer)
    # the body must be JSON
    status, _ = request(server, "PUT", "/api/decisions/article/f1", b"decision=reject", {"Content-Type": "text/plain"})
    assert status == 415
    assert _tree(setup.root) == before


def test_path_traversal_reads_and_writes_nothing_outside(setup: Setup, server: ReviewServer) -> None:
    secret = setup.root / "secret.json"  # just outside the reports folder
    secret.write_text('{"schema": "mtcheck.report/1", "TOPSECRET": true}')
    (setup.reports / "link.json").symlink_to(secret)
    (setup.reports / ".hidden.json").write_text('{"TOPSECRET": 1}')
    (setup.reports / "notes.txt").write_text("TOPSECRET")  # not a report file type
    before = _tree(setup.root)
    sha = setup.report["article"]["sha256"]
    gets = [
        "/../secret.json",
        "/../../etc/passwd",
        "/%2e%2e/secret.json",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/..%2fsecret.json",
        "/..%2Fsecret.json",
        "/%252e%252e/secret.json",
        "/..%5csecret.json",
        "/link.json",
        "/.hidden.json",
        "/notes.txt",
        "/reports/../secret.json",
        "//etc/passwd",
        "/%00secret.json",
        "/api/decisions/..%2F..%2Fetc%2Fpasswd",
        "/api/decisions/..%2F..%2Fsecret",
        "/api/decisions/%2e%2e",
        "/api/decisions/..",
        "/api/decisions/../../secret",
        "/api/decisions/%252e%252e%252fsecret",
        "/api/decisions/.hidden",
        "/api/decisions/%ff%fe",
    ]
    for path in gets:
        status, body = request(server, "GET", path)
        assert status in (400, 404), (path, status)
        assert b"TOPSECRET" not in body and b"root:" not in body, path
    for path in (
        "/api/decisions/..%2F..%2Fetc%2Fpasswd/f0",
        "/api/decisions/..%2Fsecret/f0",
        "/api/decisions/../secret/f0",
        "/api/decisions/%2e%2e%2fsecret/f0",
        "/api/decisions/link/f0",
        "/api/decisions/article/..%2F..%2Fx",
    ):
        for method in ("PUT", "DELETE"):
            status, _ = request(server, method, path, {"decision": "reject", "article_sha256": sha})
            assert 400 <= status < 500, (method, path, status)
    assert _tree(setup.root) == before
    assert not list(Path("/etc").glob("passwd.decisions*"))
    # the files that are there are served
    assert request(server, "GET", "/article.html")[0] == 200
    status, body = request(server, "GET", "/")
    assert status == 200 and b"article.html" in body


def test_requests_for_other_hosts_are_refused(setup: Setup, server: ReviewServer) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not reach the API."""
    status, _ = request(server, "GET", "/api/decisions/article", headers={"Host": "evil.example"})
    assert status == 403
    sha = setup.report["article"]["sha256"]
    body = {"decision": "reject", "article_sha256": sha}
    status, _ = request(server, "PUT", "/api/decisions/article/f0", body, {"Origin": "http://evil.example"})
    assert status == 403
    assert not setup.decisions.exists()


def test_stale_decisions_file_is_never_overwritten(setup: Setup, server: ReviewServer) -> None:
    stale = {"schema": "mtcheck.decisions/1", "report": "article.json", "article_sha256": "1" * 64, "decisions": {}}
    setup.decisions.write_text(json.dumps(stale))
    status, body = put(setup, server, "f0", decision="reject")
    assert status == 409 and b"another version" in body
    assert json.loads(setup.decisions.read_text()) == stale


def test_concurrent_writes_keep_every_decision(tmp_path: Path) -> None:
    """Many clients deciding different flags at the same moment: the merge under the lock loses none."""
    words = [f"word{i}" for i in range(40)]
    text = "Title here\n\n" + " ".join(words) + ".\n"
    report = make_report(text, [flag(text, w) for w in words])
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "many.json").write_text(json.dumps(report))
    sha = report["article"]["sha256"]
    with running(reports) as srv:
        barrier = threading.Barrier(len(words))
        results: list[int] = []

        def decide(i: int) -> None:
            barrier.wait()
            body = {"decision": "reject" if i % 2 else "edit", "text": "x", "article_sha256": sha}
            results.append(request(srv, "PUT", f"/api/decisions/many/f{i}", body)[0])

        threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(words))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert results == [200] * len(words)
    doc = json.loads((reports / "many.decisions.json").read_text())
    assert list(doc["decisions"]) == [f"f{i}" for i in range(len(words))]  # all kept, in reading order
    assert [p.name for p in reports.iterdir() if p.name.startswith(".many.decisions.json.")] == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_review_command_prints_its_address_and_stops_on_ctrl_c(setup: Setup, sig: signal.Signals) -> None:
    """Also when started from a non-interactive shell in the background, which leaves SIGINT ignored."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtcheck", "review", str(setup.reports), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        line = proc.stdout.readline()
        m = re.fullmatch(rf"mtcheck: reviewing {re.escape(str(setup.reports))}/ at http://127\.0\.0\.1:(\d+)/\n", line)
        assert m, line
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=30)
        conn.request("GET", "/")
        resp = conn.getresponse()
        assert resp.status == 200 and b"mtcheck reports" in resp.read()
        conn.close()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "mtcheck: stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_review_command_errors_plainly(tmp_path: Path) -> None:
    result = run_mtcheck("review", str(tmp_path / "nope"), "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"mtcheck: error: {tmp_path / 'nope'}: no such reports folder"]


# --- the review page in real Chromium -----------------------------------------------------------------


def _open_flag(page, fid: str) -> None:
    page.locator(f'mark.flag[data-flag~="{fid}"]').first.click()
    assert page.locator("#panel-title").inner_text() == f"Flag {fid}"


def _decide_all(page, expect) -> None:
    """f0: click "Use 2"; then j to f1 (left open), j to f2 and key 1, j to f3 and x, j to f4 and e + Enter."""
    progress = page.locator("#review-progress")
    expect(progress).to_have_text("0 / 5 decided")
    _open_flag(page, "f0")
    page.locator('.detail[data-flag-id="f0"] .rv-use').nth(1).click()
    expect(progress).to_have_text("1 / 5 decided")
    page.keyboard.press("j")
    expect(page.locator("#panel-title")).to_have_text("Flag f1")
    page.keyboard.press("j")
    expect(page.locator("#panel-title")).to_have_text("Flag f2")
    page.keyboard.press("1")
    expect(progress).to_have_text("2 / 5 decided")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(progress).to_have_text("3 / 5 decided")
    page.keyboard.press("j")
    expect(page.locator("#panel-title")).to_have_text("Flag f4")
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
    expect(page.locator('.rv-chosen[data-for="f0"]')).to_have_text("Wednesday, between")
    expect(page.locator('.rv-chosen[data-for="f2"]')).to_have_text("NATO will")
    expect(page.locator('.rv-chosen[data-for="f4"]')).to_have_text(EDIT)
    expect(page.locator(".rv-chosen")).to_have_count(3)
    for fid in ("f0", "f2", "f4"):
        expect(page.locator(f'mark.flag[data-flag~="{fid}"]').first).to_have_class(re.compile(r"\brv-fixed\b"))
    expect(page.locator('mark.flag[data-flag~="f3"]').first).to_have_class(re.compile(r"\brv-rejected\b"))
    expect(page.locator('mark.flag[data-flag~="f1"]').first).not_to_have_class(re.compile(r"\brv-"))
    assert page.locator("#item-f3").get_attribute("data-decision") == "reject"
    assert page.locator("#item-f1").get_attribute("data-decision") == "open"


def _expected_changes() -> list[dict]:
    dot = TEXT.index("Wednesday.") + len("Wednesday")
    he = TEXT.index(" He will")
    soon = TEXT.index("soon soon")
    return [
        {"flag": "f0", "decision": "accept", "suggestion": 1, "start": dot, "end": dot + 1, "before": ".",
         "after": ",", "new_start": dot, "new_end": dot + 1},
        {"flag": "f2", "decision": "accept", "suggestion": 0, "start": he, "end": he + 3, "before": " He",
         "after": "", "new_start": he, "new_end": he},
        {"flag": "f4", "decision": "edit", "suggestion": None, "start": soon, "end": soon + 9,
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
    page.goto(server.url)  # the index links to the article page
    page.locator('a[href="article.html"]').click()
    page.wait_for_selector('#review[data-mode="server"]')
    assert "saved on the review server" in page.locator("#review-mode").inner_text()
    _decide_all(page, expect)
    _check_decided_view(page, expect)
    # the decisions are on disk as they are made
    doc = json.loads(setup.decisions.read_text())
    assert {k: v["decision"] for k, v in doc["decisions"].items()} == {
        "f0": "accept",
        "f2": "accept",
        "f3": "reject",
        "f4": "edit",
    }
    # reload: all kept
    page.reload()
    page.wait_for_selector('#review[data-mode="server"]')
    _check_decided_view(page, expect)
    # u reopens, a click on Use 1 decides again (and both reach the file)
    _open_flag(page, "f3")
    expect(page.locator('.detail[data-flag-id="f3"] .rv-state')).to_contain_text("Rejected")
    page.keyboard.press("u")
    expect(page.locator("#review-progress")).to_have_text("3 / 5 decided")
    expect(page.locator('.detail[data-flag-id="f3"] .rv-state')).to_contain_text("Open")
    page.locator('.detail[data-flag-id="f3"] .rv-reject').click()
    expect(page.locator("#review-progress")).to_have_text("4 / 5 decided")
    _open_flag(page, "f2")
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
        for tab in tabs:
            tab.goto(server.url + "article.html")
            tab.wait_for_selector('#review[data-mode="server"]')
        _open_flag(tabs[0], "f0")
        _open_flag(tabs[1], "f3")
        # both keys go out before either answer is awaited
        tabs[0].keyboard.press("2")
        tabs[1].keyboard.press("x")
        for tab in tabs:
            expect(tab.locator("#review-status")).to_contain_text("saved")
        doc = json.loads(setup.decisions.read_text())
        assert {k: v["decision"] for k, v in doc["decisions"].items()} == {"f0": "accept", "f3": "reject"}
        tabs[0].reload()
        tabs[0].wait_for_selector('#review[data-mode="server"]')
        expect(tabs[0].locator("#review-progress")).to_have_text("2 / 5 decided")
    finally:
        context.close()


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
    assert doc["schema"] == "mtcheck.decisions/1" and doc["article_sha256"] == setup.report["article"]["sha256"]
    assert watched.errors == []
    assert all(u.startswith(("file:", "data:", "blob:")) for u in watched.requests)

    out = setup.root / "corrected"
    result = run_mtcheck(
        "apply", str(setup.report_json), "--decisions", str(exported), "--out", str(out), cwd=setup.root
    )
    _check_applied(setup, out, result)
    assert not setup.decisions.exists()


def test_page_allows_only_same_origin_connections() -> None:
    page = render_article(review_report())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "connect-src 'self'" in csp
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-eval" not in csp
    assert 'id="review-progress">0 / 5 decided<' in page


if os.name != "posix":  # pragma: no cover
    pytestmark = pytest.mark.skip("the review server's tests use POSIX signals and symlinks")
