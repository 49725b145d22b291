"""The gate's durable records in its output folder, and finding them again after a crash.

- `state.jsonl`: one line per decided item, written last (what a re-run skips);
- `audit.jsonl`: one line per decision;
- `<accepted|quarantined|rejected>.jsonl`: the decided feed items themselves.

Lines are appended whole, flushed and fsynced (`Appender`), and a partial last line is cut off on the next
start (`cut_partial_line`). `Ledger` opens them, reads the state back and records what an interrupted run
wrote after its last state line (run.py's docstring gives the order of the writes per item).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from mtcheck.gate.filters import DECISIONS, OUT_FOLDER

STATE, AUDIT = "state.jsonl", "audit.jsonl"
DECISION_FILES = {d: f"{OUT_FOLDER[d]}.jsonl" for d in DECISIONS}


@dataclass(frozen=True)
class Decided:
    decision: str
    policy: str
    model: str
    outputs: list[str] = field(default_factory=list)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def item_key(id_: str, sha256: str) -> str:
    return f"{id_}\t{sha256}"


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


def read_jsonl(path: Path, start: int = 0) -> Iterator[tuple[int, dict]]:
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


def read_written(path: Path) -> dict | None:
    """A report file the gate wrote (`{"gate": ..., **report}`) as JSON; None when it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def gate_header(data: dict | None) -> dict | None:
    """The gate's own part of a written report file, when it names the item (id and sha256)."""
    gate = data.get("gate") if isinstance(data, dict) else None
    return gate if isinstance(gate, dict) and "id" in gate and "sha256" in gate else None


class Ledger:
    """The state, the audit log and the decision files of one output folder, opened for appending.

    On opening, partial last lines are cut, the state is read back (`done`), and outputs that an interrupted
    run wrote after its last state line are recorded (`recovered` counts them), never written twice."""

    def __init__(self, out: Path, log: Callable[[str], None]):
        self.out = out
        self.log = log
        self.done: dict[str, Decided] = {}
        self.recovered = 0
        self._tail: set[tuple[str, str]] | None = None
        out.mkdir(parents=True, exist_ok=True)
        self._state = Appender(out / STATE)
        self._audit = Appender(out / AUDIT)
        self._decisions = {d: Appender(out / f) for d, f in DECISION_FILES.items()}
        self._recover()

    # --- writing -------------------------------------------------------------------------------------
    def audit(self, record: dict) -> None:
        self._audit.append(record)

    def append_decision(self, decision: str, record: dict) -> tuple[str, int]:
        """One line in the decision's JSONL file: (its name, the file's end offset after it)."""
        return DECISION_FILES[decision], self._decisions[decision].append(record)

    def record(
        self, id_: str, sha: str, decision: str, policy: str, model: str, outputs: list[str], jsonl_end: dict | None
    ) -> None:
        """The state line: written last, it marks the item done."""
        rec = {"id": id_, "sha256": sha, "decision": decision, "policy_sha256": policy, "model_sha256": model}
        rec |= {"outputs": outputs, "jsonl_end": jsonl_end, "time": now()}
        self._state.append(rec)
        self.done[item_key(id_, sha)] = Decided(decision, policy, model, outputs)

    def close(self) -> None:
        for f in (self._state, self._audit, *self._decisions.values()):
            f.close()

    # --- restart -------------------------------------------------------------------------------------
    def _recover(self) -> None:
        for name in (STATE, AUDIT, *DECISION_FILES.values()):
            if cut_partial_line(self.out / name):
                self.log(f"mtcheck: gate: {name}: dropped a partial last line (interrupted run)")
        ends = dict.fromkeys(DECISION_FILES.values(), 0)
        for _, rec in read_jsonl(self.out / STATE):
            try:
                key = item_key(rec["id"], rec["sha256"])
                self.done[key] = Decided(rec["decision"], rec["policy_sha256"], rec["model_sha256"], rec["outputs"])
            except (KeyError, TypeError):
                continue
            for name, end in (rec.get("jsonl_end") or {}).items():
                if name in ends:
                    ends[name] = max(ends[name], int(end))
        # Outputs written after the last state line: recorded now, never written a second time.
        for decision, name in DECISION_FILES.items():
            for end, rec in read_jsonl(self.out / name, ends[name]):
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
                try:
                    if report_path.stat().st_mtime < since:
                        continue
                except OSError:
                    continue
                gate = gate_header(read_written(report_path))
                copy = folder / report_path.name.removesuffix(".report.json")
                if gate is not None and copy.exists():
                    outputs = [str(copy.relative_to(self.out)), str(report_path.relative_to(self.out))]
                    self._adopt(gate, decision, outputs, None)
                elif gate is not None and gate.get("unreadable") is True:  # an unreadable input has no copy
                    self._adopt(gate, decision, [str(report_path.relative_to(self.out))], None)

    def _adopt(self, gate: dict, decision: str, outputs: list[str], jsonl_end: dict | None) -> None:
        key = item_key(gate["id"], gate["sha256"])
        known = self.done.get(key)
        policy, model = gate.get("policy_sha256", ""), (gate.get("model") or {}).get("sha256", "")
        if known and known.policy == policy and known.model == model:
            return
        if (key, policy) not in self._audit_tail():  # the crash may have come before or after the audit line
            audit = {k: gate.get(k) for k in ("id", "sha256", "source", "decision", "reasons", "scores")}
            audit |= {"policy_sha256": policy, "model": gate.get("model"), "outputs": outputs}
            audit |= {"time": gate.get("time"), "recovered": True}
            self._audit.append(audit)
        self.record(gate["id"], gate["sha256"], decision, policy, model, outputs, jsonl_end)
        self.recovered += 1

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
                            self._tail.add((item_key(rec["id"], rec["sha256"]), rec["policy_sha256"]))
                        except (ValueError, KeyError, TypeError):
                            continue  # the first, cut line of the tail
        return self._tail
