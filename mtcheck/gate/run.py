"""Gate a feed: read items, decide each, write it where its decision says, and lose nothing.

Layout of the output folder DIR:

- file inputs: `DIR/<accepted|quarantined|rejected>/<name>` (a copy of the file) and `<name>.report.json`;
- JSONL items: one line in `DIR/<accepted|quarantined|rejected>.jsonl` (the original item plus an
  "mtcheck" field) and the full report in `DIR/reports/<id>.json`;
- `DIR/audit.jsonl`: one line per decision; `DIR/state.jsonl`: one line per decided item, written last.

A written report is `{"gate": <the gate's record>, **report.to_json()}` (several articles in one file:
`{"gate": ..., "reports": [...]}`); reports are read back only through `Report.from_json`.

Crash safety (kill -9 at any point): files are written to a temporary name and renamed; JSONL lines are
appended whole, flushed and fsynced, and a partial last line is cut off on the next start (store.py). The
order per item is report/copy -> decision line -> audit line -> state line, so on restart an item is either
in the state (skipped), or its outputs are found and recorded without checking it again (the tail of each
decision file past the last recorded offset; file outputs newer than the state), or it left at most a
report that the new run overwrites. Items are keyed by id + sha256 of their content.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.files import atomic_write
from mtcheck.core.report import Report
from mtcheck.gate.filters import (
    ACCEPT,
    DECISIONS,
    OUT_FOLDER,
    QUARANTINE,
    SEVERITY,
    GateReason,
    decide,
    decision_of,
    most_severe_first,
    scores_of,
)
from mtcheck.gate.policy import Policy
from mtcheck.gate.store import Decided, Ledger, gate_header, item_key, now, read_written
from mtcheck.pipeline import WorkerDied, Workers
from mtcheck.reading.formats import feed_item_article, read_articles, walk
from mtcheck.reading.inputs import read_input, shown


@dataclass(frozen=True)
class Item:
    id: str
    sha256: str  # of the raw content: the file's bytes, or the JSONL line's bytes
    source: str  # "path" or "feed.jsonl#12" / "-#12" (standard input)
    raw: bytes
    path: Path | None = None  # file items only
    name: str = ""  # file items: output file name (relative path, flattened)
    line: int | None = None  # JSONL items: line number
    unreadable: str | None = None  # file items that could not be read: why (no bytes, no copy)

    @property
    def key(self) -> str:
        return item_key(self.id, self.sha256)


@dataclass
class Tally:
    decided: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    recovered: int = 0
    seconds: float = 0.0

    @property
    def worst(self) -> str:
        seen = [d for d in DECISIONS if self.decided[d] or self.skipped[d]]
        return max(seen, key=SEVERITY.__getitem__) if seen else ACCEPT

    def line(self) -> str:
        d, s = self.decided, self.skipped
        parts = [f"{d[x]} {OUT_FOLDER[x]}" for x in DECISIONS]
        skipped = sum(s.values())
        text = f"mtcheck: gate: {', '.join(parts)}"
        text += f"; {skipped} skipped (already decided with this policy and model"
        text += f": {', '.join(f'{s[x]} {OUT_FOLDER[x]}' for x in DECISIONS)})" if skipped else ")"
        if self.recovered:
            text += f"; {self.recovered} recovered from an interrupted run"
        return text


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", text).strip("._")[:150] or "item"


def _unreadable(message: str) -> GateReason:
    return GateReason(QUARANTINE, "unreadable", message)  # shown as "unreadable: <message>"


@dataclass(frozen=True)
class _Prepared:
    articles: list[Article]
    reasons: list[GateReason]  # why parts of it could not be read
    value: Any  # the parsed JSON of a feed line
    stored: list[Report] | None  # reports of this content from an earlier run, when they fit


@dataclass(frozen=True)
class _Done:
    """A check done in this process, shaped like a future."""

    report: Report | None
    error: BaseException | None

    @staticmethod
    def of(check: Callable[[Article], Report], article: Article) -> _Done:
        try:
            return _Done(check(article), None)
        except Exception as exc:  # noqa: BLE001 - raised again when the item is decided
            return _Done(None, exc)

    def done(self) -> bool:
        return True

    def result(self) -> Report:
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


_TICK = object()  # "nothing arrived for a while" (see _ticking)


def _ticking(items: Iterator[Item], every: float = 0.5) -> Iterator[Any]:
    """The items, read in a thread, with _TICK whenever none arrived for `every` seconds: a slow stream (stdin,
    --watch) still gets the decisions the workers finished written out while it waits for the next line."""
    import queue
    import threading

    box: queue.Queue = queue.Queue(maxsize=64)
    end = object()

    def read() -> None:
        try:
            for item in items:
                box.put(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading side
            box.put(exc)
        box.put(end)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            got = box.get(timeout=every)
        except queue.Empty:
            yield _TICK
            continue
        if got is end:
            return
        if isinstance(got, BaseException):
            raise got
        yield got


# --- inputs ----------------------------------------------------------------------------------------
def iter_folder(folder: Path, exclude: Path | None = None, settle: float = 0.0) -> Iterator[Item]:
    """Article files under a folder, sorted; hidden files, other suffixes and the output folder skipped. A name
    that cannot be read (a broken link, a FIFO, no permission) is an item too: it is quarantined as unreadable,
    never dropped.

    settle: files modified less than this many seconds ago are left for the next pass (still being
    written by whoever feeds the folder).
    """
    now = time.time()
    for path in walk(folder, exclude):
        try:
            if settle and now - path.lstat().st_mtime < settle:
                continue
        except OSError:
            continue  # gone since the walk saw it: nothing left to lose
        item = file_item(path, folder)
        if item is not None:
            yield item


def file_item(path: Path, folder: Path) -> Item | None:
    """One article file as an item keyed by its path relative to `folder`; an unreadable one carries why (its
    key is the cause's, so it is decided again once it can be read); None when it is gone."""
    rel = path.relative_to(folder).as_posix()
    name = rel.replace("/", "__")
    try:
        data = read_input(path)
    except InputError as exc:
        if not os.path.lexists(path):
            return None  # vanished between the walk and the read
        digest = hashlib.sha256(f"unreadable: {exc.cause}".encode()).hexdigest()
        return Item(rel, digest, shown(path), b"", path, name, unreadable=exc.cause)
    return Item(rel, hashlib.sha256(data).hexdigest(), shown(path), data, path, name)


def iter_jsonl(stream: IO[bytes], label: str, stem: str) -> Iterator[Item]:
    """Items of a JSONL stream, one line at a time (never the whole input in memory)."""
    for n, raw in enumerate(stream, 1):
        line = raw.rstrip(b"\r\n")
        if n == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line.strip():
            continue
        item_id = f"{stem}-{n}"
        try:
            value = json.loads(line)
            if isinstance(value, dict):
                given = value.get("id", value.get("guid"))
                if isinstance(given, (str, int)) and not isinstance(given, bool) and str(given).strip():
                    item_id = str(given).strip()
        except ValueError:
            pass
        yield Item(item_id, hashlib.sha256(line).hexdigest(), f"{label}#{n}", line, line=n)


# --- the gate --------------------------------------------------------------------------------------
class FeedGate:
    """Decides items and writes them out. `checker` is built on first need (a fully cached run never
    loads the model); tests pass a stand-in with `.check(article) -> Report`."""

    def __init__(
        self,
        out: Path,
        policy: Policy,
        model_name: str,
        model_sha256: str,
        make_checker: Callable[[], Any],
        log: Callable[[str], None] | None = None,
        workers: Workers | None = None,
    ):
        self.out = out
        self.policy = policy
        self.model_name = model_name
        self.model_sha = model_sha256
        self._make_checker = make_checker
        self._checker: Any = None
        self._workers = workers  # `--jobs N`: checks run on these threads; decisions are written here
        self.log = log or (lambda _m: None)
        self.ledger = Ledger(out, self.log)
        self.tally = Tally(recovered=self.ledger.recovered)

    @property
    def checker(self) -> Any:
        if self._checker is None:
            self._checker = self._make_checker()
        return self._checker

    def is_done(self, item: Item) -> Decided | None:
        known = self.ledger.done.get(item.key)
        if known and known.policy == self.policy.sha256 and known.model == self.model_sha:
            return known
        return None

    def run(self, items: Iterator[Item]) -> Tally:
        """One pass over the items. `decided` adds up over passes (--watch); `skipped` counts this pass.

        With workers (`--jobs`), up to two items per worker are in flight; decisions are still written
        one at a time, in input order, by this process alone."""
        start = time.monotonic()
        self.tally.skipped = dict.fromkeys(DECISIONS, 0)
        pending: deque[tuple[Item, _Prepared, list]] = deque()
        ahead = 2 * self._workers.jobs if self._workers is not None else 0
        source = _ticking(items) if self._workers is not None else items
        for item in source:
            if item is _TICK:  # nothing new for a while: write what the workers have finished
                while pending and all(f.done() for f in pending[0][2]):
                    self._finish(*pending.popleft())
                continue
            if any(p[0].key == item.key for p in pending):  # the same item again: decide the first one first
                while pending:
                    self._finish(*pending.popleft())
            known = self.is_done(item)
            if known:
                self.tally.skipped[known.decision] += 1
                continue
            prepared = self._prepare(item)
            pending.append((item, prepared, self._submit(prepared)))
            while len(pending) > ahead:
                self._finish(*pending.popleft())
        while pending:
            self._finish(*pending.popleft())
        self.tally.seconds += time.monotonic() - start
        return self.tally

    def gate(self, item: Item) -> str:
        """Decide one item and write it out (in this process)."""
        prepared = self._prepare(item)
        return self._finish(item, prepared, self._submit(prepared))

    def _articles(self, item: Item) -> tuple[list[Article], list[GateReason], Any]:
        """The item's articles, the reasons it could not be read, and its parsed JSON (lines)."""
        if item.unreadable is not None:
            return [], [_unreadable(item.unreadable)], None
        if item.path is not None:
            found = list(read_articles(item.path, item.raw))
            articles = [a for a in found if isinstance(a, Article)]
            return articles, [_unreadable(e.cause) for e in found if isinstance(e, InputError)], None
        try:
            value = json.loads(item.raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return [], [_unreadable(f"line {item.line}: not JSON ({exc})")], None
        got = feed_item_article(value, item.source, item.id)
        if isinstance(got, InputError):
            return [], [_unreadable(got.cause)], value
        # The gate's key, also when the item's own id field was not a string: a new article, not an edited one.
        return [replace(got, id=item.id)], [], value

    def _prepare(self, item: Item) -> _Prepared:
        """Read the item; find reports of it from an earlier run."""
        try:
            articles, reasons, value = self._articles(item)
        except Exception as exc:  # noqa: BLE001 - an unparseable item is kept, quarantined
            articles, reasons, value = [], [_unreadable(f"{type(exc).__name__}: {exc}")], None
        return _Prepared(articles, reasons, value, self._stored_reports(item, articles))

    def _submit(self, prepared: _Prepared) -> list:
        """The item's checks, started: futures on the worker threads, or done here and now."""
        if not prepared.articles or prepared.stored is not None:
            return []
        if self._workers is not None:
            return [self._workers.submit(a) for a in prepared.articles]
        # Built outside any try: a model that cannot load fails the run (exit 2), it is no item's fault.
        checker = self.checker
        return [_Done.of(checker.check, a) for a in prepared.articles]

    def _finish(self, item: Item, prepared: _Prepared, futures: list) -> str:
        """Decide the item from its reports and write it out: report/copy, decision line, audit, state."""
        articles, reasons, value = prepared.articles, prepared.reasons, prepared.value
        reports: list[Report] = []
        try:
            for i, article in enumerate(articles):
                if prepared.stored is not None:
                    report = prepared.stored[i]
                else:  # a worker thread's future or a check done here: WorkerDied where no checker could load
                    report = futures[i].result()
                reports.append(report)
                _, found = decide(report, self.policy)
                if len(articles) > 1:  # several articles in one file: say which one
                    found = [replace(r, message=f"{article.id}: {r.message}") for r in found]
                reasons = [*reasons, *found]
        except WorkerDied:
            raise
        except Exception as exc:  # noqa: BLE001 - any crash of the checker quarantines the item, the run goes on
            message = " ".join(str(exc).split())[:300]
            reasons = [GateReason(QUARANTINE, "checker-error", f"the checker failed: {type(exc).__name__}: {message}")]
        reasons = most_severe_first(reasons)
        decision = decision_of(reasons)
        scores = scores_of(reports[0]) if len(reports) == 1 else [scores_of(r) for r in reports] or None
        gate = {
            "id": item.id,
            "sha256": item.sha256,
            "source": item.source,
            "decision": decision,
            "reasons": [r.to_json() for r in reasons],
            "scores": scores,
            "policy_sha256": self.policy.sha256,
            "model": {"name": self.model_name, "sha256": self.model_sha},
            "time": now(),
        }
        if item.path is not None:
            outputs, ends = self._write_file_item(item, decision, reports, gate), None
        else:
            outputs, ends = self._write_line_item(item, decision, reports, gate, value)
        self.ledger.audit({**gate, "outputs": outputs})
        previous = self.ledger.done.get(item.key)
        self.ledger.record(item.id, item.sha256, decision, self.policy.sha256, self.model_sha, outputs, ends)
        if previous and item.path is not None:
            self._drop_stale(previous.outputs, outputs)
        self.tally.decided[decision] += 1
        self.log(_say(gate))
        return decision

    def _stored_reports(self, item: Item, articles: list[Article]) -> list[Report] | None:
        """Reports of this very content by this model, from a run under another policy: re-deciding
        under a new policy needs no model. None when there are none that fit."""
        previous = self.ledger.done.get(item.key)
        if not articles or previous is None or previous.model != self.model_sha:
            return None
        for rel in previous.outputs:
            if "#" in rel or not rel.endswith(".json"):
                continue
            data = read_written(self.out / rel)
            gate = gate_header(data)
            if data is None or gate is None or gate["sha256"] != item.sha256:
                continue
            try:
                found = data["reports"] if "reports" in data else [data]
                reports = [Report.from_json(r, where=str(self.out / rel)) for r in found]
            except (MtcheckError, TypeError):
                continue  # damaged or from another mtcheck: checked again
            fits = len(reports) == len(articles) and all(
                r.article.sha256 == a.sha256 and isinstance(r.model, dict) and r.model.get("sha256") == self.model_sha
                for r, a in zip(reports, articles, strict=True)
            )
            if fits:
                return reports
        return None

    def _write_file_item(self, item: Item, decision: str, reports: list[Report], gate: dict) -> list[str]:
        folder = self.out / OUT_FOLDER[decision]
        copy = folder / item.name
        report_path = folder / f"{item.name}.report.json"
        if item.unreadable is not None:  # nothing to copy: the record says what stood there and why
            atomic_write(report_path, json.dumps({"gate": {**gate, "unreadable": True}}, ensure_ascii=False, indent=1))
            return [str(report_path.relative_to(self.out))]
        body = reports[0].to_json() if len(reports) == 1 else {"reports": [r.to_json() for r in reports]}
        atomic_write(copy, item.raw)
        # The report goes last: on restart, a report with its copy beside it means "written".
        atomic_write(report_path, json.dumps({"gate": gate, **body}, ensure_ascii=False, indent=1))
        return [str(copy.relative_to(self.out)), str(report_path.relative_to(self.out))]

    def _write_line_item(
        self, item: Item, decision: str, reports: list[Report], gate: dict, value: Any
    ) -> tuple[list[str], dict]:
        outputs: list[str] = []
        if reports:
            path = self._report_path(item)
            atomic_write(path, json.dumps({"gate": gate, **reports[0].to_json()}, ensure_ascii=False, indent=1))
            outputs.append(str(path.relative_to(self.out)))
            gate = {**gate, "report": outputs[0]}
        if isinstance(value, dict):
            record = {**value, "mtcheck": gate}
        elif value is None:  # not JSON: kept as the raw text of the line
            record = {"raw": item.raw.decode("utf-8", errors="replace"), "mtcheck": gate}
        else:
            record = {"item": value, "mtcheck": gate}
        name, end = self.ledger.append_decision(decision, record)
        return [f"{name}#{item.line}", *outputs], {name: end}

    def _report_path(self, item: Item) -> Path:
        path = self.out / "reports" / f"{_safe_name(item.id)}.json"
        if path.exists():
            gate = gate_header(read_written(path))
            if gate is None or gate["sha256"] != item.sha256:  # the same id with other content keeps both
                path = path.with_name(f"{_safe_name(item.id)}.{item.sha256[:12]}.json")
        return path

    def _drop_stale(self, old: list[str], new: list[str]) -> None:
        """A file re-decided (other policy or model) moves: remove the copy it left in its old folder."""
        for rel in set(old) - set(new):
            if "#" not in rel:
                (self.out / rel).unlink(missing_ok=True)

    def close(self) -> None:
        if self._workers is not None:
            self._workers.close()
        self.ledger.close()


def _say(gate: dict) -> str:
    s = gate["scores"] if isinstance(gate["scores"], dict) else None
    figures = ""
    if s:
        fl = "n/a" if s["fluency"] is None else f"{s['fluency']:.0f}"
        figures = f" fluency {fl}, {s['critical']} critical, {s['major']} major, {s['words']} words;"
    why = "; ".join(f"{r['code']}: {r['message']}" for r in gate["reasons"][:3])
    return f"{gate['decision']:<10} {gate['source']}:{figures} {why}".rstrip(" ;")


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
