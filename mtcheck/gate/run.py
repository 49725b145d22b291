"""Gate a feed: read items, decide each, write it where its decision says, and lose nothing.

Layout of the output folder DIR:

- file inputs: `DIR/<accepted|quarantined|rejected>/<name>` (a copy of the file) and `<name>.report.json`;
- JSONL items: one line in `DIR/<accepted|quarantined|rejected>.jsonl` (the original item plus an
  "mtcheck" field) and the full report in `DIR/reports/<id>.json`;
- `DIR/audit.jsonl`: one line per decision; `DIR/state.jsonl`: one line per decided item, written last.

Crash safety (kill -9 at any point): files are written to a temporary name and renamed; JSONL lines are
appended whole, flushed and fsynced, and a partial last line is cut off on the next start. The order per
item is report/copy -> decision line -> audit line -> state line, so on restart an item is either in
the state (skipped), or its outputs are found and recorded without checking it again (the tail of each
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError
from mtcheck.core.files import atomic_write
from mtcheck.gate.filters import ACCEPT, DECISIONS, OUT_FOLDER, QUARANTINE, SEVERITY, Reason, decide, scores_of
from mtcheck.gate.policy import Policy
from mtcheck.reading.formats import SUPPORTED_SUFFIXES, feed_item_article, read_articles

STATE, AUDIT = "state.jsonl", "audit.jsonl"
DECISION_FILES = {d: f"{OUT_FOLDER[d]}.jsonl" for d in DECISIONS}


@dataclass
class Item:
    id: str
    sha256: str  # of the raw content: the file's bytes, or the JSONL line's bytes
    source: str  # "path" or "feed.jsonl#12" / "-#12" (standard input)
    raw: bytes
    path: Path | None = None  # file items only
    name: str = ""  # file items: output file name (relative path, flattened)
    line: int | None = None  # JSONL items: line number

    @property
    def key(self) -> str:
        return f"{self.id}\t{self.sha256}"


@dataclass
class Decided:
    decision: str
    policy: str
    model: str
    outputs: list[str] = field(default_factory=list)


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


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", text).strip("._")[:150] or "item"


def cut_partial_line(path: Path) -> bool:
    """Drop a last line without its newline (a write cut by a crash). Reads only the file's tail."""
    if not path.exists():
        return False
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return False
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return False
        pos = size
        while pos > 0:  # search backwards for the last newline, a block at a time
            step = min(1 << 16, pos)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            i = block.rfind(b"\n")
            if i >= 0:
                f.truncate(pos + i + 1)
                break
        else:
            f.truncate(0)
        f.flush()
        os.fsync(f.fileno())
    return True


class Appender:
    """Whole lines appended, flushed and fsynced: after `append` returns the line survives kill -9."""

    def __init__(self, path: Path):
        self.path = path
        self._f: IO[bytes] | None = None

    def append(self, record: dict) -> int:
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "ab")  # noqa: SIM115 - kept open for the run
        self._f.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        self._f.flush()
        os.fsync(self._f.fileno())
        return self._f.tell()  # the end offset: on restart, scanning starts here

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def _read_jsonl(path: Path, start: int = 0) -> Iterator[tuple[int, dict]]:
    """(end offset, record) of each line from byte `start`; lines that do not parse are skipped."""
    if not path.exists():
        return
    with open(path, "rb") as f:
        f.seek(start)
        pos = start
        for raw in f:
            pos += len(raw)
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield pos, record


# --- inputs ----------------------------------------------------------------------------------------
def iter_folder(folder: Path, exclude: Path | None = None, settle: float = 0.0) -> Iterator[Item]:
    """Article files under a folder, sorted; hidden files, other suffixes and the output folder skipped.

    settle: files modified less than this many seconds ago are left for the next pass (still being
    written by whoever feeds the folder).
    """
    exclude = exclude.resolve() if exclude else None
    now = time.time()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(root, d).resolve() != exclude)
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(SUPPORTED_SUFFIXES):
                continue
            path = Path(root, name)
            try:
                if settle and now - path.stat().st_mtime < settle:
                    continue
            except OSError:
                continue
            item = file_item(path, folder)
            if item is not None:
                yield item


def file_item(path: Path, folder: Path) -> Item | None:
    """One article file as an item keyed by its path relative to `folder`; None if it cannot be read now."""
    try:
        data = path.read_bytes()
    except OSError:
        return None  # vanished or unreadable now: the next pass sees it again
    rel = path.relative_to(folder).as_posix()
    return Item(rel, hashlib.sha256(data).hexdigest(), str(path), data, path, rel.replace("/", "__"))


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
class Gate:
    """Decides items and writes them out. `checker` is built on first need (a fully cached run never
    loads the model); tests pass a stand-in with `.check(article) -> report`."""

    def __init__(
        self,
        out: Path,
        policy: Policy,
        model_name: str,
        model_sha256: str,
        make_checker: Callable[[], Any],
        log: Callable[[str], None] | None = None,
    ):
        self.out = out
        self.policy = policy
        self.model_name = model_name
        self.model_sha = model_sha256
        self._make_checker = make_checker
        self._checker: Any = None
        self.log = log or (lambda _m: None)
        self.tally = Tally()
        self.done: dict[str, Decided] = {}
        self._tail: set[tuple[str, str]] | None = None
        out.mkdir(parents=True, exist_ok=True)
        self._state = Appender(out / STATE)
        self._audit = Appender(out / AUDIT)
        self._decisions = {d: Appender(out / f) for d, f in DECISION_FILES.items()}
        self._recover()

    # --- restart -------------------------------------------------------------------------------------
    def _recover(self) -> None:
        for name in (STATE, AUDIT, *DECISION_FILES.values()):
            if cut_partial_line(self.out / name):
                self.log(f"mtcheck: gate: {name}: dropped a partial last line (interrupted run)")
        ends = dict.fromkeys(DECISION_FILES.values(), 0)
        for _, rec in _read_jsonl(self.out / STATE):
            try:
                key = f"{rec['id']}\t{rec['sha256']}"
                self.done[key] = Decided(rec["decision"], rec["policy_sha256"], rec["model_sha256"], rec["outputs"])
            except (KeyError, TypeError):
                continue
            for name, end in (rec.get("jsonl_end") or {}).items():
                if name in ends:
                    ends[name] = max(ends[name], int(end))
        # Outputs written after the last state line: recorded now, never written a second time.
        for decision, name in DECISION_FILES.items():
            for end, rec in _read_jsonl(self.out / name, ends[name]):
                gate = rec.get("mtcheck")
                if isinstance(gate, dict) and "id" in gate and "sha256" in gate:
                    report = [gate["report"]] if isinstance(gate.get("report"), str) else []
                    self._adopt(gate, decision, [name, *report], {name: end})
        state = self.out / STATE
        since = state.stat().st_mtime - 2 if state.exists() else 0.0
        for decision in DECISIONS:
            folder = self.out / OUT_FOLDER[decision]
            if not folder.is_dir():
                continue
            for report_path in folder.glob("*.report.json"):
                if report_path.stat().st_mtime < since:
                    continue
                try:
                    gate = json.loads(report_path.read_text(encoding="utf-8")).get("gate")
                except (OSError, ValueError, AttributeError):
                    continue
                copy = folder / report_path.name.removesuffix(".report.json")
                if isinstance(gate, dict) and "id" in gate and "sha256" in gate and copy.exists():
                    outputs = [str(copy.relative_to(self.out)), str(report_path.relative_to(self.out))]
                    self._adopt(gate, decision, outputs, None)

    def _adopt(self, gate: dict, decision: str, outputs: list[str], jsonl_end: dict | None) -> None:
        key = f"{gate['id']}\t{gate['sha256']}"
        known = self.done.get(key)
        policy, model = gate.get("policy_sha256", ""), (gate.get("model") or {}).get("sha256", "")
        if known and known.policy == policy and known.model == model:
            return
        if (key, policy) not in self._audit_tail():  # the crash may have come before or after the audit line
            audit = {k: gate.get(k) for k in ("id", "sha256", "source", "decision", "reasons", "scores")}
            audit |= {"policy_sha256": policy, "model": gate.get("model"), "outputs": outputs}
            audit |= {"time": gate.get("time"), "recovered": True}
            self._audit.append(audit)
        self._record(gate["id"], gate["sha256"], decision, policy, model, outputs, jsonl_end)
        self.tally.recovered += 1

    def _audit_tail(self, size: int = 1 << 18) -> set[tuple[str, str]]:
        """(key, policy) of the audit log's last lines: an item cut off by a crash was decided last."""
        if self._tail is None:
            self._tail = set()
            path = self.out / AUDIT
            if path.exists():
                with open(path, "rb") as f:
                    f.seek(max(0, f.seek(0, os.SEEK_END) - size))
                    for raw in f.read().split(b"\n"):
                        try:
                            rec = json.loads(raw)
                            self._tail.add((f"{rec['id']}\t{rec['sha256']}", rec["policy_sha256"]))
                        except (ValueError, KeyError, TypeError):
                            continue  # the first, cut line of the tail
        return self._tail

    def _record(
        self, id_: str, sha: str, decision: str, policy: str, model: str, outputs: list[str], jsonl_end: dict | None
    ) -> None:
        rec = {"id": id_, "sha256": sha, "decision": decision, "policy_sha256": policy, "model_sha256": model}
        rec |= {"outputs": outputs, "jsonl_end": jsonl_end, "time": _now()}
        self._state.append(rec)
        self.done[f"{id_}\t{sha}"] = Decided(decision, policy, model, outputs)

    # --- deciding ----------------------------------------------------------------------------------
    @property
    def checker(self) -> Any:
        if self._checker is None:
            self._checker = self._make_checker()
        return self._checker

    def is_done(self, item: Item) -> Decided | None:
        known = self.done.get(item.key)
        if known and known.policy == self.policy.sha256 and known.model == self.model_sha:
            return known
        return None

    def run(self, items: Iterator[Item]) -> Tally:
        start = time.monotonic()
        for item in items:
            known = self.is_done(item)
            if known:
                self.tally.skipped[known.decision] += 1
                continue
            self.gate(item)
        self.tally.seconds += time.monotonic() - start
        return self.tally

    def _articles(self, item: Item) -> tuple[list[Article], list[Reason], Any]:
        """The item's articles, the reasons it could not be read, and its parsed JSON (lines)."""
        if item.path is not None:
            found = list(read_articles(item.path))
            return (
                [a for a in found if isinstance(a, Article)],
                [
                    Reason(QUARANTINE, "unreadable", f"unreadable: {e.cause}")
                    for e in found
                    if isinstance(e, InputError)
                ],
                None,
            )
        try:
            value = json.loads(item.raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return [], [Reason(QUARANTINE, "unreadable", f"unreadable: line {item.line}: not JSON ({exc})")], None
        got = feed_item_article(value, item.source, item.id)
        if isinstance(got, InputError):
            return [], [Reason(QUARANTINE, "unreadable", f"unreadable: {got.cause}")], value
        got.id = item.id  # the gate's key, also when the item's own id field was not a string
        return [got], [], value

    def gate(self, item: Item) -> str:
        reports: list[dict] = []
        value: Any = None
        try:
            articles, reasons, value = self._articles(item)
        except Exception as exc:  # noqa: BLE001 - an unparseable item is kept, quarantined
            articles, reasons = [], [Reason(QUARANTINE, "unreadable", f"unreadable: {type(exc).__name__}: {exc}")]
        stored = self._stored_reports(item, articles)
        # Built outside the try: a model that cannot load fails the run (exit 2), it is no item's fault.
        checker = self.checker if articles and stored is None else None
        try:
            for i, article in enumerate(articles):
                report = stored[i] if stored is not None else checker.check(article)
                reports.append(report)
                decision, found = decide(report, self.policy)
                if len(articles) > 1:  # several articles in one file: say which one
                    found = [Reason(r.decision, r.code, f"{article.id}: {r.message}") for r in found]
                reasons += found
        except Exception as exc:  # noqa: BLE001 - any crash of the checker quarantines the item, the run goes on
            message = " ".join(str(exc).split())[:300]
            reasons = [Reason(QUARANTINE, "checker-error", f"the checker failed: {type(exc).__name__}: {message}")]
        reasons.sort(key=lambda r: -SEVERITY[r.decision])
        decision = reasons[0].decision if reasons else ACCEPT
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
            "time": _now(),
        }
        if item.path is not None:
            outputs, ends = self._write_file_item(item, decision, reports, gate), None
        else:
            outputs, ends = self._write_line_item(item, decision, reports, gate, value)
        self._audit.append({**gate, "outputs": outputs})
        previous = self.done.get(item.key)
        self._record(item.id, item.sha256, decision, self.policy.sha256, self.model_sha, outputs, ends)
        if previous and item.path is not None:
            self._drop_stale(previous.outputs, outputs)
        self.tally.decided[decision] += 1
        self.log(_say(gate))
        return decision

    def _stored_reports(self, item: Item, articles: list[Article]) -> list[dict] | None:
        """Reports of this very content by this model, from a run under another policy: re-deciding
        under a new policy needs no model. None when there are none that fit."""
        previous = self.done.get(item.key)
        if not articles or previous is None or previous.model != self.model_sha:
            return None
        for rel in previous.outputs:
            if "#" in rel or not rel.endswith(".json"):
                continue
            try:
                data = json.loads((self.out / rel).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            reports = data.get("reports") or [data]
            gate = data.get("gate") or {}
            fits = gate.get("sha256") == item.sha256 and len(reports) == len(articles)
            fits = fits and all(
                r.get("article", {}).get("sha256") == a.sha256 and r.get("model", {}).get("sha256") == self.model_sha
                for r, a in zip(reports, articles, strict=False)
            )
            if fits:
                return [{k: v for k, v in r.items() if k != "gate"} for r in reports]
        return None

    def _write_file_item(self, item: Item, decision: str, reports: list[dict], gate: dict) -> list[str]:
        folder = self.out / OUT_FOLDER[decision]
        copy = folder / item.name
        report_path = folder / f"{item.name}.report.json"
        body: Any = reports[0] if len(reports) == 1 else {"reports": reports}
        atomic_write(copy, item.raw)
        # The report goes last: on restart, a report with its copy beside it means "written".
        atomic_write(report_path, json.dumps({"gate": gate, **body}, ensure_ascii=False, indent=1))
        return [str(copy.relative_to(self.out)), str(report_path.relative_to(self.out))]

    def _write_line_item(
        self, item: Item, decision: str, reports: list[dict], gate: dict, value: Any
    ) -> tuple[list[str], dict]:
        outputs: list[str] = []
        if reports:
            path = self._report_path(item)
            atomic_write(path, json.dumps({"gate": gate, **reports[0]}, ensure_ascii=False, indent=1))
            outputs.append(str(path.relative_to(self.out)))
            gate = {**gate, "report": outputs[0]}
        if isinstance(value, dict):
            record = {**value, "mtcheck": gate}
        elif value is None:  # not JSON: kept as the raw text of the line
            record = {"raw": item.raw.decode("utf-8", errors="replace"), "mtcheck": gate}
        else:
            record = {"item": value, "mtcheck": gate}
        name = DECISION_FILES[decision]
        end = self._decisions[decision].append(record)
        return [f"{name}#{item.line}", *outputs], {name: end}

    def _report_path(self, item: Item) -> Path:
        path = self.out / "reports" / f"{_safe_name(item.id)}.json"
        if path.exists():
            try:
                other = json.loads(path.read_text(encoding="utf-8")).get("gate", {}).get("sha256")
            except (OSError, ValueError, AttributeError):
                other = None
            if other != item.sha256:  # the same id with other content keeps both reports
                path = path.with_name(f"{_safe_name(item.id)}.{item.sha256[:12]}.json")
        return path

    def _drop_stale(self, old: list[str], new: list[str]) -> None:
        """A file re-decided (other policy or model) moves: remove the copy it left in its old folder."""
        for rel in set(old) - set(new):
            if "#" not in rel:
                (self.out / rel).unlink(missing_ok=True)

    def close(self) -> None:
        for f in (self._state, self._audit, *self._decisions.values()):
            f.close()


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
