"""`mtcheck serve`: one loaded checker behind a small JSON API, on the standard library's `ThreadingHTTPServer`.

    POST /v1/check      {"text": ..., "title"?, "id"?, "source_lang"?} or {"items": [text | feed item, ...]}
                        -> {"report": ...} or {"reports": [...]} (an unreadable item: {"error", "index"} in place)
                        ?gate=1: also "decision" / "decisions" (accept | quarantine | reject, as `mtcheck gate`)
                        ?format=languagetool: LanguageTool's /v2/check answer (languagetool.py)
    GET  /health        {"status": "ok", "model": name, "queue": waiting, "busy": bool}; never needs the token
    GET  /version       mtcheck's version, the model's name and sha256, the settings signature, the limits

Requests queue onto the one model (work.py): a full queue answers 503 with Retry-After. `--timeout` counts from a
request's arrival: a request still waiting in the queue then is dropped from it and answered 503 (it never ran:
safe to retry); one whose check is running is answered 504 (the check finishes, or for items stops at the next
batch, and its result is thrown away).

It binds to loopback by default, and then answers only requests addressed to a loopback host (no DNS rebinding).
Any other address needs a token, and with a token every request but /health must carry
`Authorization: Bearer <token>` (401 otherwise). The body must be JSON with `Content-Type: application/json` (a
web page cannot then post to it without a CORS preflight, which this server never grants), no larger than
`--max-bytes` as its Content-Length says (411 without one, 413 over), with at most `--max-items` items (413).
Every refusal is `{"error": "<one line>"}` with a 4xx status; the console gets one line per request (method,
path, status, milliseconds) and never a traceback.

Offsets in the report JSON point into `report.article.text`, the text as checked: newlines made "\\n", and a
`title` sent apart joined in front as the first paragraph (`title + "\\n\\n" + text`); for feed items also the
body stripped, or made plain text when it is HTML. The LanguageTool form carries them back to the text as sent.
"""

from __future__ import annotations

import hmac
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any, Protocol

from mtcheck import __version__
from mtcheck.api import Decision, Gate, as_article
from mtcheck.core.article import Article
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.report import SCHEMA, Report
from mtcheck.gate.filters import GateReason
from mtcheck.gate.policy import Policy
from mtcheck.review.server import OneEntry, host_name, is_loopback, server_url
from mtcheck.serve.languagetool import item_body, languagetool_json
from mtcheck.serve.payload import BadRequest, ItemsRequest, Query, TextRequest, parse_body, parse_query
from mtcheck.serve.work import QUEUED, RUNNING, Busy, Cancelled, CheckQueue, Job, ShuttingDown

DEFAULT_PORT = 8765
DEFAULT_MAX_BYTES = 1 << 20
MIN_TOKEN = 16
ITEMS_BATCH = 8  # items that share one LM pass (Checker.check_many); a timed-out request stops between batches
DRAIN_LIMIT = 16 << 20  # an oversize body up to this size is read and dropped, so the client sees the 413
SOCKET_TIMEOUT = 60.0  # a client that stalls mid-request is dropped after this many seconds
ROUTES = {"/v1/check": ("POST",), "/health": ("GET", "HEAD"), "/version": ("GET", "HEAD")}


class CheckerLike(Protocol):
    """What the server needs of `mtcheck.api.Checker` (tests give it a stand-in)."""

    @property
    def model(self) -> dict: ...

    def signature(self) -> str: ...

    def check_text(
        self, text: str, title: str | None = None, source_lang: str | None = None, id: str = "text"
    ) -> Report: ...

    def check_many(self, texts: list, source_lang: str | None = None, batch_size: int = 8) -> list: ...


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None  # required off loopback
    max_bytes: int = DEFAULT_MAX_BYTES
    max_items: int = 32
    timeout: float = 120.0  # seconds from a request's arrival to its answer
    queue_size: int = 32  # requests that may wait for the model
    policy: Policy | None = None  # for ?gate=1; None: the built-in defaults
    quiet: bool = False  # no line per request


def check_access(host: str, token: str | None) -> None:
    """Refuse a token too weak to guard anything, and any address off loopback without one."""
    if token is not None:
        if len(token) < MIN_TOKEN or not all(33 <= ord(c) < 127 for c in token):
            raise MtcheckError(
                f"the token must be at least {MIN_TOKEN} printable ASCII characters without spaces "
                "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe())')"
            )
    elif not is_loopback(host):
        raise MtcheckError(
            f"--host {host} is not a loopback address: give a token (--token or MTCHECK_TOKEN) that every client "
            "must send, or serve on 127.0.0.1"
        )


class CheckServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of clients must not get connection resets

    def __init__(
        self,
        options: ServeOptions,
        checker: CheckerLike | None = None,
        log: Callable[[str], None] | None = None,
    ):
        """Checks the address and token and binds (MtcheckError when it cannot); `attach` the checker (or give it
        here) before `serve_forever`. `log`: where the one-line messages go (default stderr)."""
        token = options.token or None
        check_access(options.host, token)
        self.options = options
        self.token = token
        self.loopback_only = is_loopback(options.host)
        self._log = log or _stderr
        self.checker: CheckerLike | None = None
        self.gate: Gate | None = None
        self.work: CheckQueue | None = None
        self._model: dict = {}
        self._signature = ""
        self._sources: frozenset[str] = frozenset()
        host = options.host.strip("[]")
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, options.port), Handler)
        except OSError as exc:
            raise MtcheckError(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}") from None
        if checker is not None:
            self.attach(checker)

    def attach(self, checker: CheckerLike) -> None:
        """The loaded checker that serves the requests, and the worker that runs them."""
        self.checker = checker
        self.gate = Gate(self.options.policy, checker)  # type: ignore[arg-type]
        self._model = dict(checker.model)
        self._signature = checker.signature()
        self._sources = known_sources(self._model.get("name", ""))
        self.work = CheckQueue(self.options.queue_size, on_error=self._worker_error)

    @property
    def url(self) -> str:
        return server_url(self.server_address)

    @property
    def model_name(self) -> str:
        return str(self._model.get("name", ""))

    def close(self) -> None:
        """Stop taking requests: those waiting for the model are answered 503; the socket closes."""
        if self.work is not None:
            self.work.stop(wait=1.0)
        self.server_close()

    def log(self, line: str) -> None:
        self._log(line)

    def token_ok(self, header: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, given = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return False
        return hmac.compare_digest(given.strip().encode("utf-8", "replace"), self.token.encode())

    def source_lang(self, code: str | None) -> str | None:
        """A request's source language when the detector has a calibration for it; None (the server's default)
        otherwise: an unknown language reads as text of unknown origin, as `mtcheck check` reads it, and the
        checker builds no detector per made-up code."""
        return code if code in self._sources else None

    def health(self) -> dict:
        work = self.work
        return {
            "status": "ok",
            "model": self.model_name,
            "queue": work.waiting if work else 0,
            "busy": work.busy if work else False,
        }

    def version(self) -> dict:
        policy = self.gate.policy if self.gate else None
        o = self.options
        return {
            "mtcheck": __version__,
            "api": "v1",
            "model": {k: self._model.get(k) for k in ("name", "sha256", "device", "precision")},
            "signature": self._signature,
            "report_schema": SCHEMA,
            "gate_policy": {"source": policy.source, "sha256": policy.sha256} if policy else None,
            "limits": {
                "max_bytes": o.max_bytes,
                "max_items": o.max_items,
                "timeout_s": o.timeout,
                "queue": o.queue_size,
            },
            "token_required": self.token is not None,
        }

    def check_items(self, articles: list[Article | InputError], source_lang: str | None, job: Job) -> list:
        """On the worker: the readable items checked ITEMS_BATCH at a time, stopping between batches once the
        request has given up; the unreadable ones keep their InputError in place."""
        assert self.checker is not None
        readable = [a for a in articles if isinstance(a, Article)]
        reports: list[Report] = []
        for start in range(0, len(readable), ITEMS_BATCH):
            if job.cancelled:
                raise Cancelled()
            chunk = readable[start : start + ITEMS_BATCH]
            reports += self.checker.check_many(chunk, source_lang=source_lang, batch_size=ITEMS_BATCH)
        done = iter(reports)
        return [a if isinstance(a, InputError) else next(done) for a in articles]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """An exception that escaped a handler: one line, never a traceback (a client hanging up is no news)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        self.log(f"mtcheck serve: error with {client_address[0]}: {type(exc).__name__}: {_one_line(str(exc))}")

    def _worker_error(self, exc: BaseException) -> None:
        self.log(f"mtcheck serve: the check failed: {type(exc).__name__}: {_one_line(str(exc))}")


def known_sources(model_name: str) -> frozenset[str]:
    """The source languages the model's detector has its own calibration for."""
    from mtcheck.detect.profile import DetectorProfile

    profile = DetectorProfile.for_model(model_name) if model_name else None
    if profile is None:
        return frozenset()
    return frozenset(profile.by_source) | frozenset(k for k in profile.flag_confidence if k != "pooled")


class Handler(OneEntry):
    server: CheckServer
    server_version = "mtcheck"
    sys_version = ""
    timeout = SOCKET_TIMEOUT

    # --- plumbing ---------------------------------------------------------------------------------

    def handle_one_request(self) -> None:
        self._t0 = time.monotonic()
        self._answered = False
        self._body_read = False
        super().handle_one_request()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.server.options.quiet:
            return
        ms = (time.monotonic() - getattr(self, "_t0", time.monotonic())) * 1000
        method = getattr(self, "command", None) or "-"
        path = _printable(getattr(self, "path", "") or "-")
        status = code.value if isinstance(code, HTTPStatus) else code
        self.server.log(f"mtcheck serve: {self.client_address[0]} {method} {path} {status} {ms:.0f} ms")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """The stdlib's own messages (a malformed request line...): the request's line says enough."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals (a malformed request line, headers too long, an unknown method) as JSON too."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._error(code, _one_line(message or phrase))

    def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self._answered = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: object, extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), extra)

    def _error(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        self._json(status, {"error": message}, extra)

    # --- routing ----------------------------------------------------------------------------------

    def _handle(self) -> None:
        try:
            self._dispatch()
        except BadRequest as exc:
            self.close_connection = True
            self._error(exc.status, exc.message)
        except (ConnectionError, TimeoutError):  # the client hung up or stalled: nobody to answer
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug: one line here, a plain 500 there
            self.close_connection = True
            self.server.log(
                f"mtcheck serve: internal error on {self.command} {_printable(self.path)}: "
                f"{type(exc).__name__}: {_one_line(str(exc))}"
            )
            if not self._answered:
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (logged by the server)")
        if not self._body_read:  # refused before its body was read (401, 404, 400...): read it away first
            length = (self.headers.get("Content-Length") or "").strip()
            if length.isdigit() and int(length) > 0:
                self.close_connection = True
                self._drain(int(length))

    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        query = query.partition("#")[0]
        if self.server.loopback_only and not is_loopback(host_name(self.headers.get("Host") or "")):
            return self._error(HTTPStatus.FORBIDDEN, "this server answers only requests for a loopback host")
        allowed = ROUTES.get(path)
        if path != "/health" and not self.server.token_ok(self.headers.get("Authorization")):
            return self._error(
                HTTPStatus.UNAUTHORIZED,
                "missing or wrong token: send the header Authorization: Bearer <token>",
                {"WWW-Authenticate": 'Bearer realm="mtcheck"'},
            )
        if allowed is None:
            return self._error(
                HTTPStatus.NOT_FOUND, f"no such path: {_printable(path)} (POST /v1/check, GET /health, GET /version)"
            )
        if self.command not in allowed:
            return self._error(
                HTTPStatus.METHOD_NOT_ALLOWED, f"use {' or '.join(allowed)} on {path}", {"Allow": ", ".join(allowed)}
            )
        if path == "/health":
            return self._json(HTTPStatus.OK, self.server.health())
        if path == "/version":
            return self._json(HTTPStatus.OK, self.server.version())
        return self._check(parse_query(query))

    # --- POST /v1/check ---------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The body, or None after answering 411/413 (judged from Content-Length, before reading)."""
        limit = self.server.options.max_bytes
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._error(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length (no chunked encoding)")
            return None
        length = (self.headers.get("Content-Length") or "").strip()
        if not length:
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return None
        if not length.isdigit():
            raise BadRequest(400, "bad Content-Length")
        size = int(length)
        if size > limit:
            self._body_read = True  # drained here, or too big to drain
            self.close_connection = True
            self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {size} bytes: this server takes at most {limit} (--max-bytes)",
            )
            self._drain(size)
            return None
        self._body_read = True
        body = self.rfile.read(size)
        if len(body) < size:
            raise BadRequest(400, "the request body is shorter than its Content-Length")
        return body

    def _drain(self, size: int) -> None:
        """Read and drop an unwanted body, briefly: closing with it unread would reset the connection before the
        client reads the answer."""
        if size > DRAIN_LIMIT:
            return
        try:
            self.connection.settimeout(2.0)
            while size > 0:
                chunk = self.rfile.read(min(size, 1 << 16))
                if not chunk:
                    break
                size -= len(chunk)
        except OSError:
            pass

    def _check(self, query: Query) -> None:
        body = self._read_body()
        if body is None:
            return
        media = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            return self._error(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as JSON, with Content-Type: application/json"
            )
        srv = self.server
        request = parse_body(body, srv.options.max_items)
        source_lang = srv.source_lang(request.source_lang)
        assert srv.checker is not None and srv.work is not None
        checker = srv.checker
        if isinstance(request, TextRequest):
            req = request

            def run(_job: Job) -> Any:
                return checker.check_text(req.text, title=req.title, source_lang=source_lang, id=req.id)

        else:
            articles = [as_article(item, i) for i, item in enumerate(request.items)]

            def run(job: Job) -> Any:
                return srv.check_items(articles, source_lang, job)

        try:
            job = srv.work.submit(run)
        except Busy as busy:
            return self._error(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"the server is busy ({busy.waiting} requests waiting): try again in {busy.retry_after} s",
                {"Retry-After": str(busy.retry_after)},
            )
        except ShuttingDown:
            return self._error(HTTPStatus.SERVICE_UNAVAILABLE, "the server is shutting down")
        timeout = srv.options.timeout
        if not job.wait(self._t0 + timeout - time.monotonic()):
            state = job.give_up()
            if state == QUEUED:
                retry = srv.work.retry_after(srv.work.waiting)
                return self._error(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    f"waited {timeout:g} s in the queue without reaching the model (--timeout): try again later",
                    {"Retry-After": str(retry)},
                )
            if state == RUNNING:
                return self._error(
                    HTTPStatus.GATEWAY_TIMEOUT, f"the check ran past the server's limit of {timeout:g} s (--timeout)"
                )
        if job.error is not None:
            return self._failed(job.error)
        self._json(HTTPStatus.OK, self._answer(request, query, job.result))

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ShuttingDown):
            return self._error(HTTPStatus.SERVICE_UNAVAILABLE, "the server is shutting down")
        if isinstance(exc, InputError):
            return self._error(HTTPStatus.BAD_REQUEST, _one_line(exc.cause))
        if isinstance(exc, MtcheckError):
            return self._error(HTTPStatus.UNPROCESSABLE_ENTITY, f"cannot check this text: {_one_line(str(exc))}")
        return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (logged by the server)")

    def _answer(self, request: TextRequest | ItemsRequest, query: Query, result: Any) -> dict:
        gate = self.server.gate if query.gate else None
        if isinstance(request, TextRequest):
            report: Report = result
            decision = gate.decide(report).to_json() if gate else None
            if query.format == "languagetool":
                return languagetool_json(report, request.text, decision=decision)
            return {"report": report.to_json()} | ({"decision": decision} if gate else {})
        entries, decisions = [], []
        for i, (item, outcome) in enumerate(zip(request.items, result, strict=True)):
            if isinstance(outcome, InputError):
                decision = _unreadable(outcome).to_json() if gate else None
                entry: dict = {"error": _one_line(str(outcome)), "index": i}
                if query.format == "languagetool" and decision is not None:
                    entry["mtcheck"] = {"decision": decision}
            else:
                decision = gate.decide(outcome).to_json() if gate else None
                if query.format == "languagetool":
                    entry = languagetool_json(outcome, item_body(item), decision=decision)
                else:
                    entry = outcome.to_json()
            entries.append(entry)
            decisions.append(decision)
        if query.format == "languagetool":
            return {"results": entries}
        return {"reports": entries} | ({"decisions": decisions} if gate else {})


def _unreadable(error: InputError) -> Decision:
    """The gate's decision for an item it cannot read (as `Gate.decide` makes it): quarantined, never dropped."""
    return Decision("quarantine", (GateReason("quarantine", "unreadable", error.cause),), None, None)


def _stderr(line: str) -> None:
    with _LOG_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


_LOG_LOCK = threading.Lock()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _printable(text: str, limit: int = 200) -> str:
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
