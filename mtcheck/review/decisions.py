"""The decisions file `<name>.decisions.json` (schema `mtcheck.decisions/1`): what an editor decided per flag.

One file per report, next to it. Every decision is keyed by flag id, so writers that each add or remove one
flag's decision can be merged without losing each other's work (`DecisionStore` does that under a lock).
The file is tied to one article text by `article_sha256`: decisions made on another version of the text
would replace the wrong characters, so they are refused everywhere.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mtcheck.core.errors import MtcheckError
from mtcheck.core.files import atomic_write, read_json
from mtcheck.core.report import Report
from mtcheck.core.types import Flag

try:  # POSIX: also serialise against another process (a second server) on the same folder
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SCHEMA = "mtcheck.decisions/1"
KINDS = ("accept", "edit", "reject")
MAX_TEXT = 10_000  # characters of an edited reading; a flag is a phrase, not a chapter
MAX_WHO = 200

# Report names as ReportWriter makes them: word characters, dots and hyphens, never starting with a dot.
_NAME_RE = re.compile(r"\w[\w.\-]{0,199}")


class DecisionError(MtcheckError):
    """A decision that cannot be stored; `status` is the HTTP status the server answers with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def valid_name(name: str) -> bool:
    """A report name that cannot leave the reports folder (no separators, no `..`, no hidden files)."""
    return bool(_NAME_RE.fullmatch(name)) and ".." not in name


def decisions_path(folder: Path, name: str) -> Path:
    return folder / f"{name}.decisions.json"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- reports --------------------------------------------------------------------------------------


def load_report(path: Path) -> Report:
    """The `mtcheck.report/1` file at `path` as a `Report`, or MtcheckError with one line naming the file."""
    return Report.from_json(read_json(path, "report"), where=str(path))  # checks the text against its sha256


def flags_by_id(report: Report) -> dict[str, Flag]:
    """Flags with an id and usable offsets, by id, in report order."""
    n = len(report.text)
    return {
        f.id: f
        for f in report.flags
        if isinstance(f.id, str) and f.id and _is_int(f.start) and _is_int(f.end) and 0 <= f.start <= f.end <= n
    }


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- records --------------------------------------------------------------------------------------


def make_record(report: Report, flag_id: str, body: Any, when: str | None = None) -> dict:
    """The stored record for one decision request `{"decision", "suggestion", "text", "who"}`.

    The replaced span and, for "accept", the text come from the report, not from the request: a client
    can only pick among what the report proposes or type its own reading of the flagged span.
    """
    flag = flags_by_id(report).get(flag_id)
    if flag is None:
        raise DecisionError(404, f"no flag {flag_id!r} in this report")
    if not isinstance(body, dict):
        raise DecisionError(400, "the request body must be a JSON object")
    kind = body.get("decision")
    if kind not in KINDS:
        raise DecisionError(400, "decision must be one of: " + ", ".join(KINDS))
    who = body.get("who")
    if who is not None and (not isinstance(who, str) or len(who) > MAX_WHO):
        raise DecisionError(400, f"who must be a string of at most {MAX_WHO} characters")
    record: dict[str, Any] = {
        "decision": kind,
        "suggestion": None,
        "text": None,
        "start": flag.start,
        "end": flag.end,
        "who": (who.strip() or None) if isinstance(who, str) else None,
        "when": when or now_iso(),
    }
    if kind == "accept":
        index = body.get("suggestion")
        if not _is_int(index) or not 0 <= index < len(flag.suggestions):
            raise DecisionError(400, f"flag {flag_id} has no suggestion {index!r}")
        s = flag.suggestions[index]
        if not (_is_int(s.start) and _is_int(s.end) and 0 <= s.start <= s.end <= len(report.text)):
            raise DecisionError(400, f"suggestion {index} of flag {flag_id} has no valid span")
        if not isinstance(s.replacement, str):
            raise DecisionError(400, f"suggestion {index} of flag {flag_id} has no replacement text")
        return {**record, "suggestion": index, "text": s.replacement, "start": s.start, "end": s.end}
    if kind == "edit":
        text = body.get("text")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise DecisionError(400, f"an edit needs text: a string of at most {MAX_TEXT} characters")
        return {**record, "text": text}
    return record


def check_record(report: Report, flag_id: str, record: Any, where: str) -> dict:
    """A stored record (from a file: the server's or a browser export) checked against the report."""
    if not isinstance(record, dict):
        raise MtcheckError(f"{where}: decision for {flag_id} is not an object")
    try:
        when = record.get("when")
        fresh = make_record(report, flag_id, record, when=when if isinstance(when, str) and when else None)
    except DecisionError as exc:
        raise MtcheckError(f"{where}: {exc}") from None
    if record["decision"] == "accept" and (record.get("start"), record.get("end"), record.get("text")) != (
        fresh["start"],
        fresh["end"],
        fresh["text"],
    ):
        raise MtcheckError(f"{where}: decision for {flag_id} does not match suggestion {fresh['suggestion']}")
    if record["decision"] == "edit" and (record.get("start"), record.get("end")) != (fresh["start"], fresh["end"]):
        raise MtcheckError(f"{where}: edit of {flag_id} does not cover the flagged span")
    return fresh


# --- documents ------------------------------------------------------------------------------------


def new_document(name: str, report: Report) -> dict:
    return {"schema": SCHEMA, "report": f"{name}.json", "article_sha256": report.article.sha256, "decisions": {}}


def check_document(doc: Any, report: Report, where: str) -> dict:
    """A decisions document checked against its report; MtcheckError (one line) on any mismatch."""
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise MtcheckError(f"{where}: not a decisions file (schema is not {SCHEMA})")
    sha = report.article.sha256
    if doc.get("article_sha256") != sha:
        raise MtcheckError(
            f"{where}: decisions were made on another version of the article "
            f"(article_sha256 {str(doc.get('article_sha256'))[:12]}…, the report has {sha[:12]}…)"
        )
    decisions = doc.get("decisions")
    if not isinstance(decisions, dict):
        raise MtcheckError(f"{where}: decisions must be an object keyed by flag id")
    checked = {fid: check_record(report, fid, rec, where) for fid, rec in decisions.items()}
    return {**doc, "decisions": _ordered(report, checked)}


def load_decisions(path: Path, report: Report) -> dict:
    return check_document(read_json(path, "decisions file"), report, str(path))


def _ordered(report: Report, decisions: dict[str, dict]) -> dict[str, dict]:
    """Decisions in reading order of their flags, so files diff well."""
    order = {fid: i for i, fid in enumerate(flags_by_id(report))}
    return dict(sorted(decisions.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


class DecisionStore:
    """Read-modify-write of decisions files, one critical section per write.

    A thread lock per file serialises the server's request threads; an advisory `flock` on a hidden lock
    file serialises against another process. The new content goes to a temporary file that is renamed over
    the old one, so a reader never sees half a file.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if fcntl is None:
                yield
                return
            with open(self.folder / f".{name}.decisions.lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self, name: str, report: Report) -> dict:
        path = decisions_path(self.folder, name)
        if path.is_symlink():  # never read or merge through a link (it may point out of the folder)
            raise DecisionError(409, f"{path.name} is a symbolic link; refusing to use it")
        if not path.exists():
            return new_document(name, report)
        try:
            return load_decisions(path, report)
        except MtcheckError as exc:
            # Never overwrite a file we cannot merge into: that would lose someone's decisions.
            raise DecisionError(409, str(exc)) from None

    def get(self, name: str, report: Report) -> dict:
        with self._locked(name):
            return self._read(name, report)

    def put(self, name: str, report: Report, flag_id: str, record: dict) -> dict:
        with self._locked(name):
            doc = self._read(name, report)
            doc = {**doc, "decisions": _ordered(report, {**doc["decisions"], flag_id: record})}
            atomic_write(decisions_path(self.folder, name), dumps(doc))
            return doc

    def delete(self, name: str, report: Report, flag_id: str) -> dict:
        with self._locked(name):
            doc = self._read(name, report)
            if flag_id in doc["decisions"]:
                kept = {fid: rec for fid, rec in doc["decisions"].items() if fid != flag_id}
                doc = {**doc, "decisions": kept}
                atomic_write(decisions_path(self.folder, name), dumps(doc))
            return doc
