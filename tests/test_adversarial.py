"""The project's own adversarial suite: what an attacker or a careless user hands `check`, `gate`, `apply` and
`review`, as a table of inputs and the one-line error or the decision each must give (issue 20's probe, kept).

Every row runs the real command line in a subprocess. Rows whose inputs are all unreadable never load the model,
so the table is fast; the gate's promise under a mix of bad files and a kill -9 is tested with the model."""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, start_gate_and_wait
from test_review import TEXT, Setup, write_setup

from mtcheck.core.errors import InputError
from mtcheck.reading.formats import read_file
from mtcheck.reading.inputs import read_input

TIMEOUT = 120  # a row that hangs (a FIFO read, a run-on sentence) fails here instead of blocking the suite


def mtcheck(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mtcheck", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        input=stdin,
    )


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _broken_link(path: Path) -> Path:
    path.symlink_to(path.parent / "nowhere.txt")
    return path


def _loop(path: Path) -> Path:
    other = path.with_name("loop-b.txt")
    path.symlink_to(other)
    other.symlink_to(path)
    return path


# --- check: a folder holding one bad thing -----------------------------------------------------------------
@dataclass(frozen=True)
class BadFile:
    name: str
    make: Callable[[Path], object]
    cause: str  # in the one line `check` prints for it


BAD_FILES = [
    BadFile("fifo.txt", _fifo, "not a regular file (a FIFO)"),
    BadFile("broken.txt", _broken_link, "broken symbolic link"),
    BadFile("loop-a.txt", _loop, "symbolic link loop"),
    BadFile("empty.txt", lambda p: p.write_bytes(b""), "empty file"),
    BadFile("blank.md", lambda p: p.write_text(" \n\t\n"), "empty file (only whitespace)"),
    BadFile("binary.txt", lambda p: p.write_bytes(b"\x7fELF\x02\x01" + bytes(range(256)) * 4), "binary"),
    BadFile("nul.txt", lambda p: p.write_bytes(b"\x00" * 64), "binary"),
    BadFile("feed.json", lambda p: p.write_text("{not json"), "invalid JSON"),
    BadFile("bad\nname.txt", lambda p: p.write_bytes(b""), "empty file"),
]


@pytest.mark.parametrize("bad", BAD_FILES, ids=[b.name.replace("\n", "\\n") for b in BAD_FILES])
def test_check_reports_each_unreadable_input_on_one_line(tmp_path: Path, bad: BadFile) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    bad.make(folder / bad.name)
    result = mtcheck("check", str(folder), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # some input could not be read; nothing else went wrong
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("mtcheck: ") and "checked" not in line]
    entries = len(os.listdir(folder))  # a link loop is two names
    assert len(lines) == entries, result.stderr  # one line per input, also for a name with a newline in it
    assert all(bad.cause in line for line in lines) and any(repr(bad.name)[1:-1] in line for line in lines), lines
    summary = [json.loads(x) for x in (tmp_path / "reports" / "summary.jsonl").read_text().splitlines()]
    assert len(summary) == entries and all("error" in s for s in summary)  # listed, not lost


# --- check and gate: output folders that cannot be used --------------------------------------------------
def _article_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text("The council approved the new budget on Tuesday after a long debate.\n")
    return folder


@pytest.mark.parametrize("command", ["check", "gate"])
@pytest.mark.parametrize(
    ("where", "needle"),
    [
        ("file", "exists and is not a folder"),
        ("under-a-file", "cannot write there"),
        ("the-input", "is the input folder"),
        ("around-the-input", "holds the input"),
    ],
)
def test_unusable_out_fails_first_on_one_line(tmp_path: Path, command: str, where: str, needle: str) -> None:
    """Before the model loads (the run is quick) and before anything is written: exit 2, one line."""
    folder = _article_folder(tmp_path)
    (tmp_path / "a-file").write_text("x")
    out = {
        "file": tmp_path / "a-file",
        "under-a-file": tmp_path / "a-file" / "reports",
        "the-input": folder,
        "around-the-input": tmp_path,
    }[where]
    before = sorted(p.name for p in folder.iterdir())
    start = time.monotonic()
    result = mtcheck(command, str(folder), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtcheck: error: --out") and needle in lines[0], result.stderr
    assert time.monotonic() - start < 30  # no model was loaded
    assert sorted(p.name for p in folder.iterdir()) == before


def test_check_lines_on_an_empty_file_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "mt.txt"
    empty.write_text("")
    result = mtcheck("check", "--lines", str(empty), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"mtcheck: error: {empty}: empty file: no lines to check"


def test_check_lines_to_a_folder_is_one_line(tmp_path: Path) -> None:
    lines = tmp_path / "mt.txt"
    lines.write_text("One line of MT output.\n")
    result = mtcheck("check", "--lines", str(lines), "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().endswith("is a folder, not a file")


def test_an_input_too_large_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 400)
    with pytest.raises(InputError, match="too large"):
        read_input(big, limit=1000)
    assert read_input(big, limit=4000) == b"word " * 400


# --- gate: nothing it cannot read is lost ---------------------------------------------------------------
def test_gate_quarantines_what_it_cannot_read(tmp_path: Path) -> None:
    """Broken and looping links, a FIFO, an empty and a binary file: each quarantined with its reason, in the
    audit once, and the tally counts them; a second run skips them all (none is gated twice)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for bad in BAD_FILES[:6]:
        bad.make(folder / bad.name)
    out = folder / "gated"  # inside the input folder: the walk leaves it out
    for run in range(2):
        result = mtcheck("gate", str(folder), "--out", str(out), cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        audit = [json.loads(x) for x in (out / "audit.jsonl").read_text().splitlines()]
        names = {"fifo.txt", "broken.txt", "loop-a.txt", "loop-b.txt", "empty.txt", "blank.md", "binary.txt"}
        assert sorted(a["id"] for a in audit) == sorted(names), audit
        assert all(a["decision"] == "quarantine" and a["reasons"][0]["code"] == "unreadable" for a in audit)
        assert all(not a["reasons"][0]["message"].startswith("unreadable") for a in audit)  # not said twice
        by_id = {a["id"]: a["reasons"][0]["message"] for a in audit}
        assert "FIFO" in by_id["fifo.txt"] and "broken symbolic link" in by_id["broken.txt"]
        assert by_id["loop-a.txt"] == "symbolic link loop"
        if run == 0:
            assert "7 quarantined" in result.stderr
        else:
            assert "0 quarantined" in result.stderr and "7 skipped" in result.stderr
    assert not list(out.rglob("*.report.json.report.json"))
    for name in names:
        record = json.loads((out / "quarantined" / f"{name}.report.json").read_text())
        assert record["gate"]["id"] == name
        unopened = name in {"fifo.txt", "broken.txt", "loop-a.txt", "loop-b.txt"}
        # what could not be opened has its record and no copy; what was read but is not an article, a copy
        assert record["gate"].get("unreadable", False) is unopened
        assert (out / "quarantined" / name).exists() is not unopened


def test_gate_does_not_read_its_own_output_folder_in_the_input(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _fifo(folder / "x.txt")
    result = mtcheck("gate", str(folder), "--out", str(folder), cwd=tmp_path)
    assert result.returncode == 2 and "is the input folder" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["x.txt"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"[fluency]\nreject_below = 20\n# caf\xe9\n", "not UTF-8 text"),
        (b"[fluency]\nreject_below = nan\n", "must be a finite number"),
        (b"[fluency]\nquarantine_below = inf\n", "must be a finite number"),
        (b"[predicted_bad]\nquarantine_above = 1.5\n", "must be at most 1"),
        (b"[fluency]\nreject_below = 120\n", "must be at most 100"),
        (b"[language]\nmin_latin_share = -0.1\n", "must not be negative"),
    ],
)
def test_bad_policy_values_are_one_line_exit_2(tmp_path: Path, content: bytes, needle: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_bytes(content)
    result = mtcheck("gate", "--explain", "--policy", str(policy), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(policy) in lines[0], result.stderr


def test_a_policy_that_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    policy = _fifo(tmp_path / "policy.toml")
    result = mtcheck("gate", "--explain", "--policy", str(policy), cwd=tmp_path)
    assert result.returncode == 2 and "not a regular file" in result.stderr


# --- apply: the report and the source are verified, not trusted -----------------------------------------
@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return write_setup(tmp_path)


def _decide(setup: Setup) -> None:
    from test_apply import STANDARD, decisions_doc, write_decisions

    write_decisions(setup, decisions_doc(setup, **STANDARD))


def test_apply_refuses_a_report_whose_text_was_edited(setup: Setup) -> None:
    _decide(setup)
    data = json.loads(setup.report_json.read_text())
    data["article"]["text"] = data["article"]["text"].replace("the", "THE", 1)  # the old sha256 kept
    setup.report_json.write_text(json.dumps(data))
    result = mtcheck("apply", str(setup.report_json), "--out", str(setup.root / "out"), cwd=setup.root)
    assert result.returncode == 2 and "does not match its sha256" in result.stderr
    assert not (setup.root / "out").exists()


def test_apply_refuses_offsets_outside_the_text(setup: Setup) -> None:
    data = json.loads(setup.report_json.read_text())
    data["flags"][0]["end"] = len(data["article"]["text"]) + 50
    setup.report_json.write_text(json.dumps(data))
    result = mtcheck("apply", str(setup.report_json), cwd=setup.root)
    assert result.returncode == 2 and "outside the article text" in result.stderr


def test_in_place_decides_from_the_source_file_not_the_report(tmp_path: Path) -> None:
    """A report that says "txt" for an .html source: --in-place must not replace the markup with plain text."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in TEXT.split("\n\n"))
    markup = f"<html><body>{paragraphs}</body></html>".encode()
    probe = tmp_path / "probe.html"
    probe.write_bytes(markup)
    text = read_file(probe)[0].text
    setup = write_setup(tmp_path, text=text, suffix=".html", raw=markup)
    _decide(setup)
    original = setup.article.read_bytes()
    data = json.loads(setup.report_json.read_text())
    data["article"]["format"] = "txt"
    setup.report_json.write_text(json.dumps(data))
    result = mtcheck("apply", str(setup.report_json), "--in-place", cwd=setup.root)
    assert result.returncode == 2 and "--in-place works only for .txt" in result.stderr
    assert setup.article.read_bytes() == original


# --- the gate's promise: bad files and a kill -9 --------------------------------------------------------
@pytest.mark.model
def test_every_item_is_decided_exactly_once_after_bad_files_and_a_kill_9(tmp_path: Path) -> None:
    """A folder of good articles mixed with a FIFO, broken and looping links, an empty and a binary file; the gate
    is killed mid-run and run again: every name is in exactly one of the three folders' records and once in the
    state and the audit."""
    folder = tmp_path / "in"
    folder.mkdir()
    sentences = [
        "The council approved the new budget on Tuesday after a long debate about schools and roads.",
        "Heavy rain caused flooding in several villages in the south of the country over the weekend.",
    ]
    good = [f"good-{i:02d}.txt" for i in range(10)]
    for i, name in enumerate(good):
        (folder / name).write_text(f"{sentences[i % 2]} {sentences[(i + 1) % 2]}\n")
    bad = BAD_FILES[:6]
    for b in bad:
        b.make(folder / b.name)
    names = set(good) | {b.name for b in bad} | {"loop-b.txt"}
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mtcheck", "gate", str(folder), "--out", str(out), "--quiet"]
    state = out / "state.jsonl"
    proc = start_gate_and_wait(cmd, state, 3, timeout=600)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 1, rerun.stderr  # the unreadable ones are quarantined
    placed = [
        json.loads(p.read_text())["gate"]["id"]
        for d in ("accepted", "quarantined", "rejected")
        if (out / d).is_dir()
        for p in (out / d).glob("*.report.json")
    ]
    assert sorted(placed) == sorted(names)  # each exactly once
    recorded = [json.loads(x)["id"] for x in state.read_text().splitlines()]
    assert sorted(recorded) == sorted(names)
    audited = [json.loads(x)["id"] for x in (out / "audit.jsonl").read_text().splitlines()]
    assert sorted(audited) == sorted(names)
    for p in (out / "quarantined").glob("*.report.json"):
        gate = json.loads(p.read_text())["gate"]
        if gate["id"] in {b.name for b in bad} | {"loop-b.txt"}:
            assert gate["reasons"][0]["code"] == "unreadable"


@pytest.mark.model
def test_run_on_inputs_are_checked_in_bounded_time(tmp_path: Path) -> None:
    """A text without full stops and a phrase looped hundreds of times (the rewrite on): both checked, not stuck
    for minutes in the rescoring or the generation (before: over ten minutes for the loop; the subprocess timeout
    is a hang guard, not a speed target)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "run-on.txt").write_text("a " * 1024)
    (folder / "loop.txt").write_text("The talks went on, " * 300)
    result = subprocess.run(
        [sys.executable, "-m", "mtcheck", "check", str(folder), "--out", str(tmp_path / "r"), "--rewrite", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    loop = json.loads((tmp_path / "r" / "loop.json").read_text())
    assert max(s["end"] - s["start"] for s in loop["segments"]) <= 1000  # the run-on was cut into pieces
    assert any(f["severity"] == "critical" for f in loop["flags"])  # and the loop is still found


@pytest.mark.model
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    lines = tmp_path / "mt.txt"
    lines.write_text("The council approved the new budget on Tuesday.\n")
    result = mtcheck("check", "--lines", str(lines), "--out", "/dev/full", "-q", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["mtcheck: error: /dev/full: cannot write: No space left on device"], (
        result.stderr
    )


def test_reports_are_readable_by_others_as_the_umask_allows(tmp_path: Path) -> None:
    """Reports are shared files (a newsroom's reports folder): mode 0666 less the umask, not mkstemp's 0600."""
    from mtcheck.report.writer import ReportWriter
    from reports import make_report

    old = os.umask(0o022)
    try:
        writer = ReportWriter(tmp_path / "r")
        writer.write(make_report("The council approved the new budget on Tuesday after a long debate.", []))
        writer.finish()
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "r").iterdir()}
    assert modes and set(modes.values()) == {0o644}, modes
