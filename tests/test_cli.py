"""The command line as a user runs it: `python -m mtcheck ...` in a subprocess, real model, real files.

Each run that checks or scores loads the model (marked `model`), so those runs are module fixtures
shared by the tests; five such runs in all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import SEED_NEWS

from mtcheck.lm import store as modelstore

GOOD_ARTICLE = (
    "Local library reopens after repairs\n\n"
    "The town library reopened on Monday after three months of repairs to its roof. "
    "Readers queued outside before the doors opened at nine.\n"
)
GOOD_ITEM = {
    "id": "good-item",
    "title": "Rain expected across the north",
    "body": "Heavy rain is expected across the north of the country this weekend, forecasters said on Friday.",
}
LINES = [
    "The United States ruled out the idea, stressing that the decision is the country’s sovereign right. .",
    "The talks lasted eight hours and ended without an agreement.",
    "The pledge that NATO He will. They no longer accept new members like Ukraine.",
    "Elements of the demands appear to be no start for the United States and its allies.",
]


def run_mtcheck(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MTCHECK_OFFLINE"}
    return subprocess.run(
        [sys.executable, "-m", "mtcheck", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=900,
    )


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout


# --- mtcheck score ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    work = tmp_path_factory.mktemp("score")
    out = work / "scores"
    return run_mtcheck("score", SEED_NEWS, "--out", out, cwd=work), out


@pytest.mark.model
def test_score_writes_token_json(scored: tuple[subprocess.CompletedProcess, Path]) -> None:
    result, out = scored
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.iterdir()] == [f"{SEED_NEWS.stem}.scores.json"]
    doc = json.loads((out / f"{SEED_NEWS.stem}.scores.json").read_text(encoding="utf-8"))

    assert doc["schema"] == "mtcheck.scores/1"
    spec = modelstore.get_spec("smollm2-135m")
    assert doc["model"]["name"] == "smollm2-135m"
    assert doc["model"]["sha256"] == spec.weights_sha256
    text = doc["article"]["text"]
    assert text == SEED_NEWS.read_text(encoding="utf-8").replace("\r\n", "\n")
    assert doc["article"]["path"] == str(SEED_NEWS)

    tokens = doc["tokens"]
    assert len(tokens) > 1000
    for t in tokens:
        assert set(t) == {"start", "end", "token", "surprisal", "entropy", "rank"}
        assert text[t["start"] : t["end"]] == t["token"]
        assert t["surprisal"] >= 0 and t["entropy"] >= 0 and t["rank"] >= 1
    assert all(a["end"] <= b["start"] for a, b in pairwise(tokens))

    he_at = text.index("NATO He will.") + len("NATO")
    he = next(t for t in tokens if t["start"] == he_at)
    assert he["token"] == " He" and he["surprisal"] > 10


@pytest.mark.model
def test_score_leaves_boilerplate_unscored(scored: tuple[subprocess.CompletedProcess, Path]) -> None:
    _result, out = scored
    doc = json.loads((out / f"{SEED_NEWS.stem}.scores.json").read_text(encoding="utf-8"))
    text, tokens = doc["article"]["text"], doc["tokens"]
    for line in ("Leave a reply:", "Your email address will not be published."):
        a = text.index(line)
        b = a + len(line)
        inside = [t for t in tokens if a <= t["start"] < b or a < t["end"] <= b]
        assert inside == [], line
        assert any(s["start"] <= a < s["end"] and not s["scored"] for s in doc["segments"]), line
    unscored = [(s["start"], s["end"]) for s in doc["segments"] if not s["scored"]]
    for t in tokens:
        middle = (t["start"] + t["end"]) / 2
        assert not any(a <= middle < b for a, b in unscored), t


# --- mtcheck check on a folder with bad inputs ------------------------------------------------------
BAD_CAUSES = {
    "empty.txt": "empty file",
    "x.txt": "binary file",
    "undecodable.txt": "undecodable bytes",
    "feed.jsonl#2": "invalid JSON at line 2",
    "broken.json": "invalid JSON at line 1",
}


@pytest.fixture(scope="module")
def bad_folder_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path, Path]:
    work = tmp_path_factory.mktemp("check")
    folder = work / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD_ARTICLE, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "x.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"IHDR" + bytes(range(256)))
    (folder / "undecodable.txt").write_bytes(b"Caf\x81\x8d\x8f\x90\x9d and more \x81\x81 text here\n")
    (folder / "feed.jsonl").write_text(json.dumps(GOOD_ITEM) + "\n" + '{"id": "broken", "body": \n', encoding="utf-8")
    (folder / "broken.json").write_text('{"title": "Oops", "body": "text",,}', encoding="utf-8")
    out = work / "out"
    return run_mtcheck("check", folder, "--out", out, "-q", cwd=work), folder, out


@pytest.mark.model
def test_check_reports_each_bad_input_on_one_line(bad_folder_run) -> None:
    result, folder, _out = bad_folder_run
    no_traceback(result)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(BAD_CAUSES), result.stderr  # -q: nothing else on stderr
    for name, cause in BAD_CAUSES.items():
        assert any(line.startswith(f"mtcheck: {folder / name}: {cause}") for line in lines), (name, lines)


@pytest.mark.model
def test_check_reports_the_good_inputs(bad_folder_run) -> None:
    _result, folder, out = bad_folder_run
    summary = [json.loads(line) for line in (out / "summary.jsonl").read_text(encoding="utf-8").splitlines()]
    checked = {s["path"]: s for s in summary if "name" in s}
    assert set(checked) == {str(folder / "good.txt"), f"{folder / 'feed.jsonl'}#1"}
    for path, s in checked.items():
        report = json.loads((out / s["report_json"]).read_text(encoding="utf-8"))
        assert report["schema"] == "mtcheck.report/1"
        assert report["article"]["path"] == path
        assert report["model"]["name"] == "smollm2-135m"
        html = (out / s["report_html"]).read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html")
    feed = json.loads((out / checked[f"{folder / 'feed.jsonl'}#1"]["report_json"]).read_text(encoding="utf-8"))
    assert feed["article"]["id"] == "good-item"
    assert GOOD_ITEM["body"] in feed["article"]["text"]

    failures = {s["path"]: s["error"] for s in summary if "name" not in s}
    assert set(failures) == {str(folder / name) for name in BAD_CAUSES}
    for name, cause in BAD_CAUSES.items():
        assert failures[str(folder / name)].startswith(cause)

    index = (out / "index.html").read_text(encoding="utf-8")
    assert "good.txt" in index or "Local library reopens" in index
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temp files left


@pytest.mark.model
def test_check_without_articles_fails_plainly(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.docx").write_bytes(b"PK\x03\x04")  # not an article type
    missing = tmp_path / "nosuch"

    result = run_mtcheck("check", empty, missing, "--out", tmp_path / "out", "-q", cwd=tmp_path)

    no_traceback(result)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"mtcheck: {empty}: no articles found")
    assert lines[1] == f"mtcheck: {missing}: no such file or folder"


# --- mtcheck check --lines ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lines_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    work = tmp_path_factory.mktemp("lines")
    source = work / "f.txt"
    source.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    out = work / "out.jsonl"
    return run_mtcheck("check", "--lines", source, "--format", "jsonl", "--out", out, cwd=work), out


@pytest.mark.model
def test_lines_round_trip(lines_run: tuple[subprocess.CompletedProcess, Path]) -> None:
    result, out = lines_run
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert [r["text"] for r in records] == LINES
    for record, line in zip(records, LINES, strict=True):
        fluency = record["fluency"]
        assert isinstance(fluency, (int, float)) and not isinstance(fluency, bool)
        assert 0 <= fluency <= 100
        for flag in record["flags"]:
            assert flag["text"] == line[flag["start"] : flag["end"]]
            assert flag["severity"] in {"minor", "major", "critical"}
            assert flag["reasons"]
    doubled = [f for f in records[0]["flags"] if any(r["code"] == "doubled-punctuation" for r in f["reasons"])]
    assert doubled and ". ." in doubled[0]["text"]
    assert any("He" in f["text"] for f in records[2]["flags"])  # "NATO He will." is garbled
    assert records[1]["fluency"] > records[2]["fluency"]


@pytest.mark.model
def test_lines_to_stdout(tmp_path: Path) -> None:
    source = tmp_path / "one.txt"
    line = "The talks lasted eight hours and ended without an agreement."
    source.write_text(line + "\n", encoding="utf-8")

    result = run_mtcheck("check", "--lines", source, "--out", "-", "-q", cwd=tmp_path)

    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    records = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(records) == 1
    assert records[0]["index"] == 0 and records[0]["text"] == line
    assert 0 <= records[0]["fluency"] <= 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.txt"]  # nothing written to disk


# --- help --------------------------------------------------------------------------------------------
def test_help(tmp_path: Path) -> None:
    top = run_mtcheck("--help", cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    for command in ("check", "score", "models"):
        assert command in top.stdout
    check = run_mtcheck("check", "--help", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    for option in ("--out", "--lines", "--format", "--model", "--quiet"):
        assert option in check.stdout
    assert "Exit status" in check.stdout
