"""`mtcheck review`: a small local web server over one reports folder.

It serves the folder's report pages unchanged (they detect the server and save decisions through it) and a
JSON API for the decisions files:

    GET    /                              index.html (or an index made from the reports found)
    GET    /<name>.html | .json | .jsonl  files directly inside the reports folder, nothing else
    GET    /api/decisions/<name>          the decisions document (empty when nothing is decided yet)
    PUT    /api/decisions/<name>/<flag>   body {"decision", "suggestion", "text", "article_sha256", "who"}
    DELETE /api/decisions/<name>/<flag>   reopen the flag

Only the standard library: `http.server.ThreadingHTTPServer`. It binds to loopback by default, and then
answers only requests addressed to an exact loopback name or a literal loopback address (`localhost`,
`127.0.0.1`, `[::1]`: not `127.evil.example`, so a page on another site cannot reach it through DNS rebinding).
Writes also need the server's token, as Jupyter's do: `mtcheck review` prints the address with `?token=...`; the
first page opened with it gets the token as a same-site, script-proof cookie, and every PUT and DELETE must carry
it (the cookie, or an `X-Mtcheck-Token` header for scripts). Writes are merged per flag under a lock by
`DecisionStore`.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import secrets
import socket
import threading
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote

from mtcheck.core.errors import MtcheckError
from mtcheck.core.report import Report
from mtcheck.report.html import render_index
from mtcheck.report.writer import summary_of
from mtcheck.review.decisions import DecisionError, DecisionStore, load_report, make_record, valid_name

MAX_BODY = 64 * 1024
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".jsonl": "text/plain; charset=utf-8",
    ".png": "image/png",
}
_LOOPBACK_NAMES = {"localhost", "localhost."}
TOKEN_HEADER = "X-Mtcheck-Token"
_FILE_RE = re.compile(r"\w[\w.\-]{0,250}")


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # many tabs (or a burst of requests) must not get connection resets

    def __init__(
        self, folder: Path, host: str = "127.0.0.1", port: int = 0, verbose: bool = False, token: str | None = None
    ):
        """`token`: what writes must carry (default: a new random one per server)."""
        if not folder.is_dir():
            raise MtcheckError(f"{folder}: no such reports folder")
        self.folder = folder.resolve()
        self.store = DecisionStore(self.folder)
        self.verbose = verbose
        self.loopback_only = is_loopback(host)
        self.token = token or secrets.token_urlsafe(24)
        self._reports: dict[str, tuple[tuple[int, int], Report]] = {}
        self._reports_lock = threading.Lock()
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host.strip("[]"), port), Handler)
        except OSError as exc:
            raise MtcheckError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    @property
    def url(self) -> str:
        return server_url(self.server_address)

    @property
    def login_url(self) -> str:
        """The address to open: it hands the browser the token that writes need."""
        return f"{self.url}?token={self.token}"

    @property
    def cookie_name(self) -> str:
        # per port: cookies are not kept apart by port, and two review servers may run side by side
        return f"mtcheck_review_{self.server_address[1]}"

    def token_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given).encode(), self.token.encode())

    def report(self, name: str) -> Report | None:
        """The report `<name>.json`, cached while the file is unchanged; None when there is none."""
        path = self.folder / f"{name}.json"
        try:
            real = path.resolve(strict=True)
            st = real.stat()
        except (OSError, RuntimeError):
            return None
        if real.parent != self.folder:  # a symlink out of the folder: not ours to read
            return None
        key = (st.st_mtime_ns, st.st_size)
        with self._reports_lock:
            cached = self._reports.get(name)
            if cached and cached[0] == key:
                return cached[1]
        try:
            report = load_report(real)
        except MtcheckError as exc:
            raise DecisionError(404, f"{name}.json is not a usable report: {str(exc).split(': ', 1)[-1]}") from None
        with self._reports_lock:
            self._reports[name] = (key, report)
        return report


def server_url(address: tuple) -> str:
    """The http URL of a bound server address (an IPv6 host in brackets)."""
    host, port = address[:2]
    host = f"[{host}]" if ":" in str(host) else host
    return f"http://{host}:{port}/"


class OneEntry(BaseHTTPRequestHandler):
    """Every method, known or not, goes to `_handle` (which answers 405 where it does not fit): one place decides,
    and OPTIONS gets no CORS preflight approval from another origin."""

    def _handle(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle()

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._handle()


class Handler(OneEntry):
    server: ReviewServer
    server_version = "mtcheck-review"
    sys_version = ""

    # --- plumbing ---------------------------------------------------------------------------------

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        # frame-ancestors cannot be set from a <meta> CSP: no other site may frame the review page
        self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: object, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", extra)

    def _error(self, status: int, message: str, allow: str | None = None) -> None:
        self._json(status, {"error": message}, {"Allow": allow} if allow else None)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 411/413."""
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return None
        if int(length) > MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY} bytes")
            self.close_connection = True
            return None
        return self.rfile.read(int(length))

    # --- routing ----------------------------------------------------------------------------------

    def _segments(self) -> list[str] | None:
        """Decoded path segments; None when the path is malformed or tries to climb out."""
        raw = self.path.split("?", 1)[0].split("#", 1)[0]
        if not raw.startswith("/"):
            return None
        out = []
        for part in raw[1:].split("/"):
            try:
                seg = unquote(part, errors="strict")
            except UnicodeDecodeError:
                return None
            if seg in (".", "..") or any(c in seg for c in "/\\\x00") or "%" in seg:
                return None  # "%" left after decoding = double encoding, e.g. %252e%252e
            out.append(seg)
        return out

    def _host_ok(self) -> bool:
        if not self.server.loopback_only:
            return True
        return is_loopback(host_name(self.headers.get("Host") or ""))

    def _token(self) -> str | None:
        """The token this request carries: the header, else the cookie the login address set."""
        given = self.headers.get(TOKEN_HEADER)
        if given:
            return given
        try:
            morsel = SimpleCookie(self.headers.get("Cookie") or "").get(self.server.cookie_name)
        except CookieError:
            return None
        return morsel.value if morsel else None

    def _login(self) -> bool:
        """A GET with `?token=`: the right one sets the cookie and redirects to the page without it (the token
        leaves the address bar and the history); a wrong one is refused. False: no token in the query."""
        query = self.path.split("?", 1)[1].split("#", 1)[0] if "?" in self.path else ""
        given = parse_qs(query).get("token")
        if not given:
            return False
        if not self.server.token_ok(given[0]):
            self._error(HTTPStatus.FORBIDDEN, "wrong review token: open the address `mtcheck review` printed")
            return True
        cookie = f"{self.server.cookie_name}={self.server.token}; Path=/; HttpOnly; SameSite=Strict"
        self._send(
            HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": self.path.split("?", 1)[0], "Set-Cookie": cookie}
        )
        return True

    def _handle(self) -> None:
        try:
            self._dispatch()
        except DecisionError as exc:
            self._error(exc.status, str(exc))
        except MtcheckError as exc:  # e.g. a report file that is not a report
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))

    def _dispatch(self) -> None:
        method = self.command
        if not self._host_ok():
            return self._error(HTTPStatus.FORBIDDEN, "this server answers only requests for a loopback host")
        segs = self._segments()
        if segs is None:
            return self._error(HTTPStatus.BAD_REQUEST, "bad path")
        if method in ("GET", "HEAD") and self._login():
            return None
        if segs[:2] == ["api", "decisions"] and len(segs) in (3, 4):
            name = segs[2]
            if not valid_name(name):
                return self._error(HTTPStatus.BAD_REQUEST, "bad report name")
            if len(segs) == 3:
                if method not in ("GET", "HEAD"):
                    return self._error(HTTPStatus.METHOD_NOT_ALLOWED, "use GET", allow="GET, HEAD")
                return self._get_decisions(name)
            if method not in ("PUT", "DELETE"):
                return self._error(HTTPStatus.METHOD_NOT_ALLOWED, "use PUT or DELETE", allow="PUT, DELETE")
            if not self.server.token_ok(self._token()):
                return self._error(
                    HTTPStatus.FORBIDDEN,
                    "no review token: open the address `mtcheck review` printed (with ?token=) to save decisions",
                )
            return self._change(name, segs[3])
        if segs[0] == "api":
            return self._error(HTTPStatus.NOT_FOUND, "no such API")
        if method not in ("GET", "HEAD"):
            return self._error(HTTPStatus.METHOD_NOT_ALLOWED, "read-only", allow="GET, HEAD")
        if segs in ([""], ["index.html"]):
            return self._index()
        if len(segs) == 1:
            return self._file(segs[0])
        return self._error(HTTPStatus.NOT_FOUND, "not found")

    # --- pages ------------------------------------------------------------------------------------

    def _index(self) -> None:
        index = self.server.folder / "index.html"
        if index.is_file():
            return self._file("index.html")
        summaries = []
        for path in sorted(self.server.folder.glob("*.json")):
            name = path.name[: -len(".json")]
            if name.endswith(".decisions") or not valid_name(name):
                continue
            try:
                summaries.append(summary_of(load_report(path), name))
            except MtcheckError:
                continue
        self._send(HTTPStatus.OK, render_index(summaries, []).encode("utf-8"), _TYPES[".html"])

    def _file(self, filename: str) -> None:
        """Only regular files directly inside the reports folder, with a known type, never hidden."""
        suffix = Path(filename).suffix.lower()
        if not _FILE_RE.fullmatch(filename) or ".." in filename or suffix not in _TYPES:
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        path = self.server.folder / filename
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        if real.parent != self.server.folder or not real.is_file():  # a symlink out of the folder
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        try:
            body = real.read_bytes()
        except OSError:
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        self._send(HTTPStatus.OK, body, _TYPES[suffix])

    # --- decisions --------------------------------------------------------------------------------

    def _report_or_404(self, name: str) -> Report | None:
        report = self.server.report(name)
        if report is None:
            self._error(HTTPStatus.NOT_FOUND, f"no report named {name}")
        return report

    def _get_decisions(self, name: str) -> None:
        report = self._report_or_404(name)
        if report is not None:
            doc = self.server.store.get(name, report)
            # the page keeps decisions in the browser rather than fail every save when it cannot write
            self._json(
                HTTPStatus.OK, doc, {"X-Mtcheck-Writable": "yes" if self.server.token_ok(self._token()) else "no"}
            )

    def _change(self, name: str, flag_id: str) -> None:
        body = self._read_body() if self.command == "PUT" else b""
        if body is None:
            return
        report = self._report_or_404(name)
        if report is None:
            return
        if report.flag(flag_id) is None:
            return self._error(HTTPStatus.NOT_FOUND, f"no flag {flag_id!r} in {name}")
        origin = self.headers.get("Origin")
        if origin and origin != f"http://{self.headers.get('Host')}":
            return self._error(HTTPStatus.FORBIDDEN, "cross-origin writes are not allowed")
        store = self.server.store
        if self.command == "DELETE":
            doc = store.delete(name, report, flag_id)
            return self._json(HTTPStatus.OK, {"flag": flag_id, "decision": None, **doc})
        media = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the decision as application/json")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return self._error(HTTPStatus.BAD_REQUEST, "malformed JSON")
        if not isinstance(data, dict):
            return self._error(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
        if data.get("article_sha256") != report.article.sha256:
            return self._error(
                HTTPStatus.CONFLICT, "article_sha256 does not match the report: the page is for another version"
            )
        record = make_record(report, flag_id, data)
        doc = store.put(name, report, flag_id, record)
        self._json(HTTPStatus.OK, {"flag": flag_id, "decision": record, **doc})


def is_loopback(host: str) -> bool:
    """An exact loopback name or a literal loopback address (127.0.0.0/8, ::1); never a name that merely starts
    like one (`127.0.0.1.nip.io` resolves wherever its owner likes)."""
    name = host.strip().lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host of a Host header, without its port (`[::1]:8765` -> `[::1]`, `localhost:80` -> `localhost`)."""
    value = header.strip()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value
