"""`mtcheck serve`: the HTTP API over a stand-in checker (request validation, limits, queue, token, LanguageTool
offsets; no model), and the real server as a subprocess with the real model (marked `model`)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtcheck import __version__
from mtcheck.api import as_article
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.report import Report
from mtcheck.reading import text_article
from mtcheck.serve.languagetool import Frame, languagetool_json
from mtcheck.serve.server import CheckServer, ServeOptions
from reports import flag_json, make_report

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token-0123456789abcdef"
GARBLED = (
    "The minister said the United States' pledge that NATO He will. They no longer accept new members, "
    "and the talks would go on next week in Geneva."
)
CLEAN = (
    "The city council met on Monday to discuss the budget for the next year, and the members agreed on most of "
    "the points raised by the mayor in her opening speech. A final vote on the whole plan is planned for next week."
)
# CRLF newlines, an emoji (two UTF-16 code units) before the garbled sentence, a title sent apart: the
# LanguageTool offsets must still point at "NATO He will" in the string as sent.
SENT = (
    "Talks on the alliance resumed in Geneva on Monday \U0001f642 after a break of several months.\r\n\r\n"
    + GARBLED
    + " Diplomats from both sides described the first day as constructive.\r\n\r\n"
    "A second round is planned for the spring, officials said soon soon.\r\n"
)


def _suggestion(text: str, start: int, end: int, replacement: str) -> dict:
    fixed = text[:start] + replacement + text[end:]
    p_start = text.rfind("\n", 0, start) + 1
    return {
        "start": start,
        "end": end,
        "replacement": replacement,
        "sentence": fixed[p_start : fixed.find("\n", p_start) if "\n" in fixed[p_start:] else len(fixed)],
        "sentence_start": p_start,
        "gain": 12.5,
        "source": "edit",
        "why": "test",
    }


class FakeChecker:
    """Stands in for `mtcheck.api.Checker` (the same methods): flags "NATO He will" (critical, two suggestions,
    one reaching past the flag as the real corrector's do) and "soon soon" (minor) wherever they occur in the
    analysed text. `hold`: an event each check waits for (to fill the queue)."""

    model = {"name": "smollm2-135m", "sha256": "ab" * 32, "device": "cpu", "precision": "fp32"}

    def __init__(self, hold: threading.Event | None = None):
        self.calls: list[tuple] = []
        self.hold = hold
        self.started = threading.Event()

    def signature(self) -> str:
        return "mtcheck:fake-signature"

    def check_text(self, text, title=None, source_lang=None, id="text") -> Report:
        self._wait(("text", text, source_lang))
        if not text.strip():
            raise InputError(f"<{id}>", "empty text: nothing to check")
        return self._report(text_article(text, title=title, id=id, path=f"<{id}>"))

    def check_many(self, texts, source_lang=None, batch_size=8) -> list:
        articles = [as_article(t, i) for i, t in enumerate(texts)]
        self._wait(("many", len(articles), source_lang))
        return [a if isinstance(a, InputError) else self._report(a) for a in articles]

    def _wait(self, call: tuple) -> None:
        self.calls.append(call)
        self.started.set()
        if self.hold is not None:
            self.hold.wait(30)

    @staticmethod
    def _report(article) -> Report:
        text = article.text
        flags = []
        if "NATO He will" in text:
            he = text.index(" He will")
            past = text.index(" He will. They") if " He will. They" in text else he
            flags.append(
                flag_json(
                    text,
                    "NATO He will",
                    "critical",
                    code="stray-pronoun",
                    suggestions=[
                        _suggestion(text, he, he + 3, ""),
                        _suggestion(text, past, past + len(" He will. They"), " will"),
                    ],
                )
            )
        for k in range(text.count("soon soon")):
            flags.append(flag_json(text, "soon soon", "minor", k, code="repeated-phrase"))
        return make_report(text, flags, path=article.path)


@contextlib.contextmanager
def running(checker=None, **options) -> Iterator[CheckServer]:
    """The real server on a free loopback port, in a thread, over `checker` (default a FakeChecker); its log
    lines in `server.lines`."""
    lines: list[str] = []
    server = CheckServer(ServeOptions(port=0, **options), checker or FakeChecker(), log=lines.append)
    server.lines = lines  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.close()
        thread.join(10)


def call(
    where: CheckServer | tuple[str, int],
    method: str,
    path: str,
    body: object = None,
    headers: dict | None = None,
    timeout: float = 60,
) -> tuple[int, dict, dict]:
    """One request: (status, headers, JSON body). A dict or list body is sent as JSON with its Content-Type."""
    host, port = where.server_address[:2] if isinstance(where, CheckServer) else where
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, dict(resp.getheaders()), json.loads(raw) if raw else {}
    finally:
        conn.close()


def raw_request(server: CheckServer, data: bytes) -> tuple[int, dict]:
    """Bytes written to the socket as they are (http.client would add a Content-Length): status and JSON."""
    with socket.create_connection(server.server_address[:2], timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le")


# --- the API over a stand-in checker -----------------------------------------------------------------


def test_health_version_and_a_check_in_both_formats() -> None:
    fake = FakeChecker()
    with running(fake) as server:
        status, _, health = call(server, "GET", "/health")
        assert (status, health) == (200, {"status": "ok", "model": "smollm2-135m", "queue": 0, "busy": False})
        status, _, version = call(server, "GET", "/version")
        assert status == 200
        assert version["mtcheck"] == __version__ and version["signature"] == "mtcheck:fake-signature"
        assert version["model"]["name"] == "smollm2-135m" and version["model"]["sha256"] == "ab" * 32
        assert version["limits"] == {"max_bytes": 1 << 20, "max_items": 32, "timeout_s": 120.0, "queue": 32}
        assert version["token_required"] is False

        status, _, answer = call(server, "POST", "/v1/check", {"text": SENT, "title": "Talks soon soon resume"})
        assert status == 200 and set(answer) == {"report"}
        report = answer["report"]
        assert report["schema"] == "mtcheck.report/1"
        # the report's offsets point into the analysed text: title joined in front, newlines made "\n"
        analysed = "Talks soon soon resume\n\n" + SENT.replace("\r\n", "\n")
        assert report["article"]["text"] == analysed
        assert [(f["text"], analysed[f["start"] : f["end"]]) for f in report["flags"]] == [
            ("soon soon", "soon soon"),
            ("NATO He will", "NATO He will"),
            ("soon soon", "soon soon"),
        ]

        status, _, lt = call(
            server, "POST", "/v1/check?format=languagetool", {"text": SENT, "title": "Talks soon soon resume"}
        )
    assert status == 200
    assert lt["software"]["name"] == "mtcheck" and lt["language"]["code"] == "en"
    assert lt["mtcheck"]["offsets"] == "sent" and lt["mtcheck"]["offsetUnits"] == "utf-16"
    nato, soon = lt["matches"]
    # the match spans the flag and every suggestion's edit; each replacement is that whole span's new text
    assert utf16_slice(SENT, nato["offset"], nato["length"]) == "NATO He will. They"
    assert utf16_slice(SENT, nato["mtcheck"]["flagOffset"], nato["mtcheck"]["flagLength"]) == "NATO He will"
    assert nato["offset"] == SENT.index("NATO He will") + 1  # the emoji before it is two UTF-16 units
    assert nato["replacements"] == [{"value": "NATO will. They"}, {"value": "NATO will"}]
    assert nato["rule"]["id"] == "MTCHECK_STRAY_PRONOUN" and nato["rule"]["issueType"] == "grammar"
    assert nato["rule"]["category"]["id"] == "MTCHECK" and nato["message"] == "Reason for “NATO He will”."
    assert nato["sentence"].startswith("The minister said") and "NATO He will" in nato["sentence"]
    ctx = nato["context"]
    assert ctx["text"][ctx["offset"] : ctx["offset"] + ctx["length"]] == "NATO He will. They"
    assert utf16_slice(SENT, soon["offset"], soon["length"]) == "soon soon"
    assert soon["rule"]["issueType"] == "duplication" and soon["replacements"] == []
    # the flag in the title sent apart: listed apart, its offsets into the title
    assert lt["mtcheck"]["title"] == "Talks soon soon resume"
    (title_match,) = lt["mtcheck"]["titleMatches"]
    assert (title_match["offset"], title_match["length"]) == (6, 9)
    assert [c[0] for c in fake.calls] == ["text", "text"]


def test_items_keep_their_places_with_errors_and_gate_decisions() -> None:
    items = [
        {"id": "a", "title": "Talks resume", "body": "  \r\n" + GARBLED + "\r\n"},
        CLEAN,
        "   ",
        42,
        {"title": "no body"},
        {"id": "html", "body": "<p>The pledge that NATO He will. They no longer accept members.</p>"},
    ]
    with running() as server:
        status, _, answer = call(server, "POST", "/v1/check?gate=1", {"items": items})
        assert status == 200
        reports, decisions = answer["reports"], answer["decisions"]
        assert len(reports) == len(decisions) == 6
        assert [f["text"] for f in reports[0]["flags"]] == ["NATO He will"]
        assert reports[1]["flags"] == [] and reports[1]["schema"] == "mtcheck.report/1"
        assert reports[2] == {"error": "<item 3>: empty text: nothing to check", "index": 2}
        assert reports[3]["index"] == 3 and "<item 4>" in reports[3]["error"]
        assert reports[4]["index"] == 4 and "no text field" in reports[4]["error"]
        assert [d["decision"] for d in decisions[2:5]] == ["quarantine"] * 3
        assert decisions[2]["reasons"][0]["code"] == "unreadable"
        assert decisions[1] == {"decision": "accept", "reasons": [], "scores": decisions[1]["scores"]}
        assert decisions[0]["decision"] in ("quarantine", "reject")  # a critical flag is held back

        status, _, lt = call(server, "POST", "/v1/check?format=languagetool", {"items": items})
    assert status == 200
    results = lt["results"]
    assert [("error" in r) for r in results] == [False, False, True, True, True, False]
    (match,) = results[0]["matches"]
    body = items[0]["body"]
    assert results[0]["mtcheck"]["offsets"] == "sent"
    assert body[match["mtcheck"]["flagOffset"] :].startswith("NATO He will")  # into the body as sent
    # HTML made plain text cannot be carried back: offsets into the analysed text, given whole
    html = results[5]
    assert html["mtcheck"]["offsets"] == "analysed"
    (match,) = html["matches"]
    assert html["mtcheck"]["text"][match["mtcheck"]["flagOffset"] :].startswith("NATO He will")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b"\xff\xfe{}", 400, "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "malformed JSON"),
        ([1, 2], 400, "must be a JSON object, not a list"),
        ({}, 400, "missing text"),
        ({"title": "only a title"}, 400, "missing text"),
        ({"text": ""}, 400, "text is empty"),
        ({"text": " \n\t "}, 400, "text is empty"),
        ({"text": 5}, 400, "text must be a string, not a number"),
        ({"text": ["a"]}, 400, "text must be a string, not a list"),
        ({"text": "Hi.", "title": 3}, 400, "title must be a string"),
        ({"text": "Hi.", "id": {"a": 1}}, 400, "id must be a string"),
        ({"text": "Hi.", "source_lang": "Romanian!"}, 400, "source_lang must be a language code"),
        ({"text": "Hi.", "language": "de-DE"}, 400, "English text only"),
        ({"text": "Hi.", "txet": "typo"}, 400, "unknown field 'txet'"),
        ({"text": "Hi.", "items": []}, 400, "either text or items"),
        ({"items": "Hi."}, 400, "items must be a list, not a string"),
        ({"items": []}, 400, "items is empty"),
        ({"items": ["Hi."] * 4}, 413, "4 items: this server takes at most 3"),
    ],
)
def test_bad_bodies_get_a_clear_4xx_and_never_reach_the_model(body, status, message) -> None:
    fake = FakeChecker()
    with running(fake, max_items=3) as server:
        got, _, answer = call(server, "POST", "/v1/check", body)
        assert got == status and set(answer) == {"error"}
        assert message in answer["error"] and "\n" not in answer["error"]
        assert "Traceback" not in answer["error"]
        assert call(server, "GET", "/health")[0] == 200  # still serving
    assert fake.calls == []
    assert all(re.fullmatch(r"mtcheck serve: 127\.0\.0\.1 \S+ \S+ \d{3} \d+ ms", line) for line in server.lines)


def test_limits_methods_paths_and_query() -> None:
    fake = FakeChecker()
    with running(fake, max_bytes=1000) as server:
        # over --max-bytes: 413 from Content-Length (the body is read away, so the client sees the answer)
        status, _, answer = call(server, "POST", "/v1/check", {"text": "x" * 2000})
        assert status == 413 and "at most 1000 (--max-bytes)" in answer["error"]
        big = b'{"text": "' + b"x" * 20_000_000 + b'"}'  # past what the server drains: it may just hang up
        with contextlib.suppress(ConnectionError):
            assert call(server, "POST", "/v1/check", big)[0] == 413
        assert call(server, "GET", "/health")[0] == 200
        # no Content-Length: 411; chunked: 411
        head = b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        assert raw_request(server, head + b"\r\n")[0] == 411
        chunked = head + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        assert raw_request(server, chunked)[0] == 411
        status, answer = raw_request(server, head + b"Content-Length: ten\r\n\r\n")
        assert status == 400 and answer["error"] == "bad Content-Length"
        # not JSON's content type: 415
        status, _, answer = call(server, "POST", "/v1/check", b'{"text": "Hi."}', {"Content-Type": "text/plain"})
        assert status == 415 and "application/json" in answer["error"]
        # paths and methods
        status, _, answer = call(server, "GET", "/v2/check")
        assert status == 404 and "no such path" in answer["error"]
        status, headers, answer = call(server, "GET", "/v1/check")
        assert status == 405 and headers["Allow"] == "POST"
        status, headers, _ = call(server, "POST", "/health", {"text": "Hi."})
        assert status == 405 and headers["Allow"] == "GET, HEAD"
        assert call(server, "DELETE", "/version")[0] == 405
        assert call(server, "OPTIONS", "/v1/check")[0] == 405  # no CORS preflight is ever approved
        assert call(server, "BREW", "/v1/check")[0] == 501
        # the query
        for query, message in [
            ("format=xml", "format='xml'"),
            ("gate=maybe", "gate='maybe'"),
            ("fromat=json", "unknown query parameter 'fromat'"),
            ("format=json&format=languagetool", "given 2 times"),
        ]:
            status, _, answer = call(server, "POST", f"/v1/check?{query}", {"text": "Hi."})
            assert status == 400 and message in answer["error"], query
        # a request for another host name (DNS rebinding) is refused on loopback
        status, _, answer = call(server, "GET", "/health", headers={"Host": "evil.example:8765"})
        assert status == 403
    assert fake.calls == []
    assert not any("Traceback" in line for line in server.lines)


def test_source_lang_reaches_the_checker_only_when_the_detector_knows_it() -> None:
    fake = FakeChecker()
    with running(fake) as server:
        for given in ("RO", "zh-Hans", "xx", None):
            assert call(server, "POST", "/v1/check", {"text": "Hi there.", "source_lang": given})[0] == 200
        assert call(server, "POST", "/v1/check", {"items": ["Hi there."], "source_lang": "ru"})[0] == 200
    assert [c[-1] for c in fake.calls] == ["ro", "zh", None, None, "ru"]


def test_a_full_queue_answers_503_and_the_timeout_503_or_504() -> None:
    hold = threading.Event()
    fake = FakeChecker(hold)
    answers: dict[str, tuple] = {}

    def post(name: str, body: dict) -> None:
        answers[name] = call(server, "POST", "/v1/check", body)

    # 6 s: room for a loaded machine, where the third request must still find the second one waiting
    with running(fake, queue_size=1, timeout=6) as server:
        a = threading.Thread(target=post, args=("running", {"text": "First text."}))
        a.start()
        assert fake.started.wait(10)
        b = threading.Thread(target=post, args=("queued", {"text": "Second text."}))
        b.start()
        deadline = time.monotonic() + 10
        while server.work.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        status, headers, answer = call(server, "POST", "/v1/check", {"text": "Third text."})
        assert status == 503 and int(headers["Retry-After"]) >= 1 and "busy" in answer["error"]
        assert call(server, "GET", "/health")[2] == {"status": "ok", "model": "smollm2-135m", "queue": 1, "busy": True}
        a.join(10)
        b.join(10)
        status, _, answer = answers["running"]
        assert status == 504 and "ran past the server's limit of 6 s" in answer["error"]
        status, headers, answer = answers["queued"]
        assert status == 503 and "waited 6 s in the queue" in answer["error"] and "Retry-After" in headers
        hold.set()
        fake.hold = None
        deadline = time.monotonic() + 10  # the first check finishes and the cancelled one leaves the queue
        while (server.work.busy or server.work.waiting) and time.monotonic() < deadline:
            time.sleep(0.01)
        status, _, answer = call(server, "POST", "/v1/check", {"text": "Fourth text."})
        assert status == 200 and answer["report"]["article"]["text"] == "Fourth text."
    # the queued request never ran; the one that ran past its time is not run again
    assert [c[1] for c in fake.calls] == ["First text.", "Fourth text."]
    assert sum(" POST /v1/check 504 " in line for line in server.lines) == 1
    assert sum(" POST /v1/check 503 " in line for line in server.lines) == 2


def test_items_past_the_timeout_stop_between_batches() -> None:
    hold = threading.Event()
    fake = FakeChecker(hold)
    with running(fake, timeout=1) as server:
        status, _, _ = call(server, "POST", "/v1/check", {"items": [f"Text number {i}." for i in range(20)]})
        assert status == 504
        hold.set()
        deadline = time.monotonic() + 10
        while server.work.busy and time.monotonic() < deadline:
            time.sleep(0.01)
    assert fake.calls == [("many", 8, None)]  # the first batch of 8 ran; the other 12 items never did


def test_a_token_guards_everything_but_health() -> None:
    fake = FakeChecker()
    with running(fake, token=TOKEN) as server:
        assert call(server, "GET", "/health")[0] == 200
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
            status, got, answer = call(server, "GET", "/version", headers=headers)
            assert status == 401 and got["WWW-Authenticate"].startswith("Bearer") and "token" in answer["error"]
            assert call(server, "POST", "/v1/check", {"text": "Hi."}, headers)[0] == 401
            assert call(server, "GET", "/nowhere", headers=headers)[0] == 401  # nothing is told without it
        good = {"Authorization": f"Bearer {TOKEN}"}
        status, _, version = call(server, "GET", "/version", headers=good)
        assert status == 200 and version["token_required"] is True
        assert call(server, "POST", "/v1/check", {"text": "Hi."}, good)[0] == 200
    assert len(fake.calls) == 1
    # off loopback a token is required, and a weak one refused
    with pytest.raises(MtcheckError, match="not a loopback address"):
        CheckServer(ServeOptions(host="0.0.0.0", port=0), FakeChecker())
    with pytest.raises(MtcheckError, match="at least 16"):
        CheckServer(ServeOptions(host="0.0.0.0", port=0, token="short"), FakeChecker())
    with running(FakeChecker(), host="0.0.0.0", token=TOKEN) as server:
        port = server.server_address[1]
        assert call(("127.0.0.1", port), "GET", "/version")[0] == 401
        status = call(("127.0.0.1", port), "GET", "/version", headers={"Authorization": f"Bearer {TOKEN}"})[0]
        assert status == 200


def test_quiet_logs_nothing_and_a_request_logs_one_line() -> None:
    with running() as server:
        call(server, "POST", "/v1/check?format=languagetool", {"text": "Hi there."})
    (line,) = server.lines
    assert re.fullmatch(r"mtcheck serve: 127\.0\.0\.1 POST /v1/check\?format=languagetool 200 \d+ ms", line)
    with running(quiet=True) as server:
        call(server, "POST", "/v1/check", {"text": "Hi there."})
        call(server, "POST", "/v1/check", b"{")
    assert server.lines == []


def test_a_checker_failure_is_a_500_and_one_log_line() -> None:
    class Broken(FakeChecker):
        def check_text(self, *args, **kwargs):
            raise RuntimeError("tensor shapes\ndo not match")

    with running(Broken()) as server:
        status, _, answer = call(server, "POST", "/v1/check", {"text": "Hi there."})
        assert call(server, "GET", "/health")[0] == 200
    assert (status, answer) == (500, {"error": "internal error (logged by the server)"})
    assert "mtcheck serve: the check failed: RuntimeError: tensor shapes do not match" in server.lines
    assert not any("Traceback" in line for line in server.lines)


# --- the LanguageTool offsets, unit by unit ----------------------------------------------------------


def test_frame_carries_offsets_back_to_the_sent_text() -> None:
    sent = "\r\n  One \U0001f600 two.\r\nThree four.\r\n"
    analysed = "Title\n\n" + sent.replace("\r\n", "\n").strip()  # a feed item: title joined, body stripped
    frame = Frame(analysed, sent)
    assert frame.mapped and frame.lo == len("Title\n\n")
    for word in ("One", "two.", "Three", "four."):
        r = analysed.index(word)
        assert sent[frame.position(r) : frame.position(r + len(word))] == word
    three = frame.position(analysed.index("Three"))
    assert frame.units(three) == three + 1  # the emoji counts two UTF-16 units
    unmapped = Frame(analysed, "something else")
    assert not unmapped.mapped and unmapped.position(9) == 9 and unmapped.text == analysed


def test_languagetool_json_without_a_sent_text_points_into_the_analysed_text() -> None:
    report = FakeChecker._report(text_article("Intro line here.\n\n" + GARBLED))
    lt = languagetool_json(report)
    (match,) = lt["matches"]
    assert lt["mtcheck"]["offsets"] == "analysed" and lt["mtcheck"]["text"] == report.text
    assert report.text[match["offset"] :].startswith("NATO He will. They")


# --- the command line (no model: refused before it loads) -----------------------------------------------


def run_mtcheck(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mtcheck", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_serve_command_refuses_an_unguarded_address_in_one_line(tmp_path: Path) -> None:
    env = {"MTCHECK_TOKEN": ""}
    result = run_mtcheck("serve", "--host", "0.0.0.0", "--port", "0", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("mtcheck: error: --host 0.0.0.0 is not a loopback address")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    result = run_mtcheck("serve", "--host", "0.0.0.0", "--port", "0", env={"MTCHECK_TOKEN": "short"})
    assert result.returncode == 2 and "at least 16" in result.stderr and "Traceback" not in result.stderr
    result = run_mtcheck("serve", "--policy", str(tmp_path / "none.toml"), "--port", "0", env=env)
    assert result.returncode == 2 and "none.toml" in result.stderr and "Traceback" not in result.stderr
    help_ = run_mtcheck("serve", "--help")
    for option in ("--host", "--port", "--token", "--max-bytes", "--max-items", "--timeout", "--policy", "--model"):
        assert option in help_.stdout
    assert "MTCHECK_TOKEN" in help_.stdout


# --- the real server, the real model -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_server() -> Iterator[tuple[subprocess.Popen, int, list[str]]]:
    """`mtcheck serve --port 0` with a token from the environment; (process, port, its stderr lines)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtcheck", "serve", "--port", "0", "--max-bytes", "200000", "--timeout", "900"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MTCHECK_TOKEN": TOKEN},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()
    got: list[str] = []
    first = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    first.start()
    first.join(900)
    try:
        assert got, "the server printed no address in 15 minutes"
        m = re.fullmatch(
            r"mtcheck: serving http://127\.0\.0\.1:(\d+)/ \(POST /v1/check; model smollm2-135m sha256 [0-9a-f]{12}; "
            r"token required\)\n",
            got[0],
        )
        assert m, (got[0], "".join(err))
        yield proc, int(m.group(1)), err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.model
def test_the_real_server_checks_text_over_http(real_server) -> None:
    from mtcheck.lm.store import resolve

    proc, port, err = real_server
    where = ("127.0.0.1", port)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, _, health = call(where, "GET", "/health")
    assert status == 200 and health["status"] == "ok" and health["model"] == "smollm2-135m"
    assert call(where, "GET", "/version")[0] == 401
    status, _, version = call(where, "GET", "/version", headers=auth)
    assert status == 200 and version["mtcheck"] == __version__
    assert version["model"]["sha256"] == resolve("smollm2-135m").sha256
    assert version["signature"].startswith("mtcheck:detector:")
    # the cheap refusals first: no token, bad JSON, too large
    assert call(where, "POST", "/v1/check", {"text": SENT})[0] == 401
    status, _, answer = call(where, "POST", "/v1/check", b'{"text": ', auth)
    assert status == 400 and answer["error"].startswith("malformed JSON")
    status, _, answer = call(where, "POST", "/v1/check", {"text": "word " * 50_000}, auth)
    assert status == 413 and "--max-bytes" in answer["error"]

    text = SENT.replace(" \U0001f642", "")
    body = {"text": text, "title": "Alliance talks resume", "id": "geneva"}
    status, _, answer = call(where, "POST", "/v1/check?gate=1", body, auth, timeout=900)
    assert status == 200, answer
    report = answer["report"]
    analysed = report["article"]["text"]
    nato = analysed.index("NATO He will")
    flags = [f for f in report["flags"] if f["start"] <= nato + 5 and f["end"] >= nato + 7]  # over "He"
    assert flags and flags[0]["severity"] in ("major", "critical"), report["flags"]
    assert report["settings"]["signature"] == version["signature"]
    assert answer["decision"]["decision"] in ("quarantine", "reject")

    status, _, lt = call(where, "POST", "/v1/check?format=languagetool", body, auth, timeout=900)
    assert status == 200 and lt["mtcheck"]["offsets"] == "sent"
    hits = [m for m in lt["matches"] if text[m["offset"] :].startswith("NATO He will")]
    assert hits, lt["matches"]
    match = hits[0]
    assert text[match["offset"] : match["offset"] + match["length"]].startswith("NATO He will")
    assert match["rule"]["id"].startswith("MTCHECK_") and match["message"]
    for replacement in match["replacements"]:  # each one is the whole span's new text
        fixed = text[: match["offset"]] + replacement["value"] + text[match["offset"] + match["length"] :]
        assert "NATO He will" not in fixed

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    time.sleep(0.2)
    log = "".join(err)
    assert "mtcheck: stopped" in log and "Traceback" not in log
    assert re.search(r"mtcheck serve: 127\.0\.0\.1 POST /v1/check\?format=languagetool 200 \d+ ms", log)
    assert re.search(r"mtcheck serve: 127\.0\.0\.1 GET /version 401 \d+ ms", log)
