"""`mtcheck review`: the real server over a tmp reports folder and its API (the review page in real Chromium is
in test_review_browser.py)."""

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
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from mtcheck.core.report import Report
from mtcheck.report.html import render_article, render_index
from mtcheck.report.writer import summary_of
from mtcheck.review.server import TOKEN_HEADER, ReviewServer
from reports import flag_json as flag
from reports import make_report

TEXT = (
    "Talks end without progress\n\n"
    "The ministers met on Wednesday. between Russia and the US in Geneva. "
    "NATO He will no longer accept new members.\n\n"
    "Officials said the talks were currently blocked by about 100,000 troops. "
    "The sides agreed to meet again soon soon.\n"
)
# What the browser tests decide: f1 suggestion 2 (click), f3 suggestion 1 (key 1), f4 rejected (x),
# f5 edited (e), f2 left open.
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


def review_report(text: str = TEXT, path: str = "article.txt") -> Report:
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
    assert [(f.id, f.text) for f in report.flags] == [
        ("f1", "Wednesday. between"),
        ("f2", "in Geneva"),
        ("f3", "NATO He will"),
        ("f4", "currently blocked by"),
        ("f5", "soon soon"),
    ]
    return report


@dataclass
class Setup:
    root: Path
    reports: Path
    article: Path
    report: Report
    name: str = "article"

    @property
    def report_json(self) -> Path:
        return self.reports / f"{self.name}.json"

    @property
    def decisions(self) -> Path:
        return self.reports / f"{self.name}.decisions.json"


def write_report(folder: Path, name: str, report: Report) -> Path:
    """`<name>.json` as `mtcheck check` writes it."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_setup(
    root: Path, text: str = TEXT, suffix: str = ".txt", raw: bytes | None = None, encoding: str = "utf-8"
) -> Setup:
    """A real article file plus its report (.json, .html via the real renderer) and index.html."""
    inputs, reports = root / "in", root / "reports"
    inputs.mkdir(parents=True, exist_ok=True)
    reports.mkdir(parents=True, exist_ok=True)
    article = inputs / f"article{suffix}"
    article.write_bytes(raw if raw is not None else text.encode("utf-8"))
    report = review_report(text, path=str(article))
    report = replace(report, article=replace(report.article, format=suffix.lstrip("."), encoding=encoding))
    write_report(reports, "article", report)
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
    server: ReviewServer,
    method: str,
    path: str,
    body: object = None,
    headers: dict | None = None,
    token: bool = True,
) -> tuple[int, bytes]:
    """A raw HTTP request: http.client sends the path exactly as given (no normalising of ..); with the server's
    token in its header unless `token=False`."""
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        hdrs[TOKEN_HEADER] = server.token
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
    body.setdefault("article_sha256", setup.report.article.sha256)
    return request(server, "PUT", f"/api/decisions/article/{fid}", body)


# --- the API ------------------------------------------------------------------------------------------


def test_put_get_delete_round_trip(setup: Setup, server: ReviewServer) -> None:
    status, body = request(server, "GET", "/api/decisions/article")
    assert status == 200
    assert json.loads(body) == {
        "schema": "mtcheck.decisions/1",
        "report": "article.json",
        "article_sha256": setup.report.article.sha256,
        "decisions": {},
    }
    assert not setup.decisions.exists()  # reading creates nothing
    assert put(setup, server, "f3", decision="accept", suggestion=0, who="Ana")[0] == 200
    assert put(setup, server, "f4", decision="reject")[0] == 200
    status, body = put(setup, server, "f5", decision="edit", text=EDIT)
    assert status == 200 and set(json.loads(body)["decisions"]) == {"f3", "f4", "f5"}
    doc = json.loads(setup.decisions.read_text())
    he = TEXT.index(" He will")
    soon = TEXT.index("soon soon")
    f4 = setup.report.flag("f4")
    assert doc["report"] == "article.json" and doc["schema"] == "mtcheck.decisions/1"
    d = doc["decisions"]
    assert {k: v for k, v in d["f3"].items() if k != "when"} == {
        "decision": "accept",
        "suggestion": 0,
        "text": "",
        "start": he,
        "end": he + 3,
        "who": "Ana",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["f3"]["when"])
    assert (d["f4"]["decision"], d["f4"]["text"], d["f4"]["start"], d["f4"]["end"]) == (
        "reject",
        None,
        f4.start,
        f4.end,
    )
    assert (d["f5"]["text"], d["f5"]["start"], d["f5"]["end"], d["f5"]["suggestion"]) == (EDIT, soon, soon + 9, None)
    # DELETE reopens one flag and keeps the others
    status, body = request(server, "DELETE", "/api/decisions/article/f4")
    assert status == 200
    assert list(json.loads(setup.decisions.read_text())["decisions"]) == ["f3", "f5"]
    # a client cannot smuggle its own span or text into an "accept"
    put(setup, server, "f1", decision="accept", suggestion=1, text="EVIL", start=0, end=5)
    rec = json.loads(setup.decisions.read_text())["decisions"]["f1"]
    dot = TEXT.index("Wednesday.") + len("Wednesday")
    assert (rec["text"], rec["start"], rec["end"]) == (",", dot, dot + 1)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_bad_requests_get_4xx_and_change_nothing(setup: Setup, server: ReviewServer) -> None:
    assert put(setup, server, "f1", decision="reject")[0] == 200
    before = _tree(setup.root)
    sha = setup.report.article.sha256
    cases = [
        # (method, path, body, expected status)
        ("PUT", "/api/decisions/article/f99", {"decision": "reject", "article_sha256": sha}, 404),
        ("PUT", "/api/decisions/article/f2", b"{not json", 400),
        ("PUT", "/api/decisions/article/f2", b"[1, 2]", 400),
        ("PUT", "/api/decisions/article/f2", {"decision": "maybe", "article_sha256": sha}, 400),
        ("PUT", "/api/decisions/article/f2", {"decision": "accept", "suggestion": 7, "article_sha256": sha}, 400),
        ("PUT", "/api/decisions/article/f2", {"decision": "edit", "text": None, "article_sha256": sha}, 400),
        ("PUT", "/api/decisions/article/f2", {"decision": "reject", "article_sha256": "0" * 64}, 409),
        ("PUT", "/api/decisions/article/f2", {"decision": "reject"}, 409),
        ("PUT", "/api/decisions/nosuch/f2", {"decision": "reject", "article_sha256": sha}, 404),
        ("GET", "/api/decisions/nosuch", None, 404),
        ("DELETE", "/api/decisions/nosuch/f1", None, 404),
        ("DELETE", "/api/decisions/article/f99", None, 404),
        ("GET", "/nosuch.html", None, 404),
        # methods
        ("POST", "/api/decisions/article/f2", {"decision": "reject", "article_sha256": sha}, 405),
        ("PATCH", "/api/decisions/article/f2", {"decision": "reject", "article_sha256": sha}, 405),
        ("GET", "/api/decisions/article/f2", None, 405),
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
    status, _ = request(server, "PUT", "/api/decisions/article/f2", b"decision=reject", {"Content-Type": "text/plain"})
    assert status == 415
    assert _tree(setup.root) == before


def test_path_traversal_reads_and_writes_nothing_outside(setup: Setup, server: ReviewServer) -> None:
    secret = setup.root / "secret.json"  # just outside the reports folder
    secret.write_text('{"schema": "mtcheck.report/1", "TOPSECRET": true}')
    (setup.reports / "link.json").symlink_to(secret)
    (setup.reports / ".hidden.json").write_text('{"TOPSECRET": 1}')
    (setup.reports / "notes.txt").write_text("TOPSECRET")  # not a report file type
    before = _tree(setup.root)
    sha = setup.report.article.sha256
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
        "/api/decisions/..%2F..%2Fetc%2Fpasswd/f1",
        "/api/decisions/..%2Fsecret/f1",
        "/api/decisions/../secret/f1",
        "/api/decisions/%2e%2e%2fsecret/f1",
        "/api/decisions/link/f1",
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
    sha = setup.report.article.sha256
    body = {"decision": "reject", "article_sha256": sha}
    status, _ = request(server, "PUT", "/api/decisions/article/f1", body, {"Origin": "http://evil.example"})
    assert status == 403
    assert not setup.decisions.exists()


@pytest.mark.parametrize(
    "host", ["127.evil.example", "127.0.0.1.nip.io", "localhost.evil.example", "127.0.0.1:80@evil.example", "0x7f.1"]
)
def test_hosts_that_only_look_like_loopback_are_refused(setup: Setup, server: ReviewServer, host: str) -> None:
    """DNS rebinding with a name that starts like a loopback address: reads and writes refused, nothing saved."""
    port = server.server_address[1]
    status, _ = request(server, "GET", "/api/decisions/article", headers={"Host": f"{host}:{port}"})
    assert status == 403
    body = {"decision": "reject", "article_sha256": setup.report.article.sha256}
    headers = {"Host": f"{host}:{port}", "Origin": f"http://{host}:{port}"}
    status, _ = request(server, "PUT", "/api/decisions/article/f1", body, headers)
    assert status == 403
    assert not setup.decisions.exists()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.1.2.3"])
def test_loopback_names_and_addresses_are_served(setup: Setup, server: ReviewServer, host: str) -> None:
    port = server.server_address[1]
    assert request(server, "GET", "/api/decisions/article", headers={"Host": f"{host}:{port}"})[0] == 200


def test_writes_need_the_servers_token(setup: Setup, server: ReviewServer) -> None:
    """Without the token (or with a wrong one) no decision is written, whatever the Host and Origin say."""
    body = {"decision": "reject", "article_sha256": setup.report.article.sha256}
    path = "/api/decisions/article/f1"
    assert request(server, "PUT", path, body, token=False)[0] == 403
    assert request(server, "PUT", path, body, {TOKEN_HEADER: "x" + server.token}, token=False)[0] == 403
    assert request(server, "DELETE", path, token=False)[0] == 403
    cookie = {"Cookie": f"{server.cookie_name}=wrong"}
    assert request(server, "PUT", path, body, cookie, token=False)[0] == 403
    assert not setup.decisions.exists()
    assert request(server, "PUT", path, body)[0] == 200  # the header
    assert setup.decisions.exists()


def test_the_login_address_sets_the_token_cookie_and_leaves_the_address(setup: Setup, server: ReviewServer) -> None:
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    conn.request("GET", f"/article.html?token={server.token}")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 303 and resp.getheader("Location") == "/article.html"
    cookie = resp.getheader("Set-Cookie")
    assert cookie.startswith(f"{server.cookie_name}={server.token};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    conn.close()
    assert request(server, "GET", "/article.html?token=wrong", token=False)[0] == 403
    # the cookie alone lets the page write, and the API says so to the page
    jar = {"Cookie": f"{server.cookie_name}={server.token}"}
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    conn.request("GET", "/api/decisions/article", headers=jar)
    assert conn.getresponse().getheader("X-Mtcheck-Writable") == "yes"
    conn.close()
    body = {"decision": "reject", "article_sha256": setup.report.article.sha256}
    assert request(server, "PUT", "/api/decisions/article/f1", body, jar, token=False)[0] == 200


def test_content_type_must_be_json_itself(setup: Setup, server: ReviewServer) -> None:
    body = {"decision": "reject", "article_sha256": setup.report.article.sha256}
    for ctype in ("text/plain; note=json", "application/jsonp", "text/json-ish"):
        status, _ = request(server, "PUT", "/api/decisions/article/f1", body, {"Content-Type": ctype})
        assert status == 415, ctype
    assert not setup.decisions.exists()
    ok = request(server, "PUT", "/api/decisions/article/f1", body, {"Content-Type": "application/json; charset=utf-8"})
    assert ok[0] == 200


def test_stale_decisions_file_is_never_overwritten(setup: Setup, server: ReviewServer) -> None:
    stale = {"schema": "mtcheck.decisions/1", "report": "article.json", "article_sha256": "1" * 64, "decisions": {}}
    setup.decisions.write_text(json.dumps(stale))
    status, body = put(setup, server, "f1", decision="reject")
    assert status == 409 and b"another version" in body
    assert json.loads(setup.decisions.read_text()) == stale


def test_concurrent_writes_keep_every_decision(tmp_path: Path) -> None:
    """Many clients deciding different flags at the same moment: the merge under the lock loses none."""
    words = [f"word{i}" for i in range(40)]
    text = "Title here\n\n" + " ".join(words) + ".\n"
    report = make_report(text, [flag(text, w) for w in words])
    reports = tmp_path / "reports"
    reports.mkdir()
    write_report(reports, "many", report)
    sha = report.article.sha256
    with running(reports) as srv:
        barrier = threading.Barrier(len(words))
        results: list[int] = []

        def decide(i: int) -> None:
            barrier.wait()
            body = {"decision": "reject" if i % 2 else "edit", "text": "x", "article_sha256": sha}
            results.append(request(srv, "PUT", f"/api/decisions/many/f{i + 1}", body)[0])

        threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(words))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert results == [200] * len(words)
    doc = json.loads((reports / "many.decisions.json").read_text())
    assert list(doc["decisions"]) == [f"f{i + 1}" for i in range(len(words))]  # all kept, in reading order
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
        m = re.fullmatch(
            rf"mtcheck: reviewing {re.escape(str(setup.reports))}/ at http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)\n",
            line,
        )
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


def test_page_allows_only_same_origin_connections() -> None:
    page = render_article(review_report())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "connect-src 'self'" in csp
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-eval" not in csp
    assert 'id="review-progress">0 / 5 decided<' in page


if os.name != "posix":  # pragma: no cover
    pytestmark = pytest.mark.skip("the review server's tests use POSIX signals and symlinks")
