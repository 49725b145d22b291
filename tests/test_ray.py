"""`mtcheck gate --engine ray` and the Ray Data class `MTCheck`, on a local Ray cluster of 2 CPUs started here.

The real default model gates 50 short items (about 45 s a run on 2 cores): with Ray and with the local engine
(`--jobs 2`, one torch thread per check as each of the two 1-CPU actors has, so the bf16 sums are the same), the
same decisions and figures per id; a Ray actor killed with SIGKILL in the middle of a run loses and duplicates
nothing; Ray Data's `map_batches(MTCheck, ...)` decides as the gate does. The machinery (stdin, a model that
cannot load) runs on the tiny random model."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from click.testing import CliRunner  # noqa: E402

from mtcheck.cli import main  # noqa: E402
from mtcheck.gate import ray_engine  # noqa: E402

DECISION_FILES = ("accepted", "quarantined", "rejected")

CLEAN = [
    "The city council approved a new budget on Tuesday after a debate that lasted more than six hours.",
    "The mayor said most of the money would go to schools, roads and the ageing water pipes under the old town.",
    "Heavy rain caused flooding in several villages in the south of the country over the weekend.",
    "Rescue teams worked through the night to reach families cut off by the rising water.",
    "The central bank kept interest rates unchanged for the third month in a row on Thursday.",
    "Analysts had expected the decision, citing slowing inflation and weak demand from abroad.",
    "A new railway line linking the two largest cities in the region opened to passengers this morning.",
    "The journey now takes just under two hours, less than half the time it took by road.",
    "Thousands of workers marched through the capital to demand higher wages and shorter hours.",
    "The unions said the strike would continue until the government agreed to reopen talks.",
    "Scientists have found a new species of frog in the rainforest near the northern border.",
    "The team said the animal was smaller than a coin and lived only on a single mountain.",
    "The football club announced on Friday that its manager would leave at the end of the season.",
    "He led the team to two league titles and a cup final during his five years in charge.",
    "Police arrested three men after a series of burglaries in the east of the city.",
    "Officers said they had recovered jewellery, laptops and a large amount of cash.",
    "The hospital opened a new children's ward that will treat patients from across the province.",
    "Doctors said the ward would cut waiting times for surgery by several months.",
]
GARBLED = [
    "The minister said the United States' pledge that NATO He will. They no longer accept new members.",
    "The talks [to invade] By de-escalation ended without a deal, the the officials said on of Monday.",
    "Prices of the rise in the market by the government has been to said that it will not to be accepted.",
]
TITLES = ["Council passes budget", "Floods hit the south", "Rates unchanged", "New line opens", "Workers march"]


def feed_lines() -> list[str]:
    """50 JSONL lines: news-like items (some with a garbled sentence, some too short to judge) and unreadable
    lines (not JSON, empty text, no text field)."""
    lines = []
    for i in range(45):
        sentences = [CLEAN[(i + k * 5) % len(CLEAN)] for k in range(3 if i % 9 else 1)]
        if i % 5 == 2:
            sentences.insert(1, GARBLED[i % len(GARBLED)])
        item = {"id": f"n{i:02d}", "title": TITLES[i % len(TITLES)], "text": " ".join(sentences)}
        lines.append(json.dumps(item))
    lines.insert(7, "this line is not JSON {")
    lines.insert(20, json.dumps({"id": "empty", "title": "Nothing", "text": ""}))
    lines.insert(30, json.dumps({"id": "blank", "text": "   "}))
    lines.insert(40, json.dumps({"id": "no-text", "title": "A headline only"}))
    lines.insert(44, "{broken json")
    assert len(lines) == 50
    return lines


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gate(*args: str, input: bytes | None = None):
    result = CliRunner().invoke(main, ["gate", *args], input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def outcome(out: Path) -> dict[str, dict]:
    """{id: the gate's record} from the decision files, each item checked to be there exactly once."""
    records = [r["mtcheck"] for d in DECISION_FILES for r in _lines(out / f"{d}.jsonl")]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "an item written twice"
    audit = _lines(out / "audit.jsonl")
    state = _lines(out / "state.jsonl")
    assert len(audit) == len(records) and {a["id"] for a in audit} == set(ids)
    keys = [(s["id"], s["sha256"]) for s in state]
    assert len(keys) == len(set(keys)) == len(records)
    return {r["id"]: r for r in records}


def same_decisions(got: dict[str, dict], expected: dict[str, dict]) -> None:
    assert set(got) == set(expected)
    for key, record in expected.items():
        assert got[key]["decision"] == record["decision"], key
        assert got[key]["sha256"] == record["sha256"], key
        assert [r["code"] for r in got[key]["reasons"]] == [r["code"] for r in record["reasons"]], key
        assert got[key]["scores"] == record["scores"], key  # same thread count per check: the same figures


def need_ray_data() -> None:
    for module in ("pandas", "pyarrow"):  # Ray Data's own needs: `pip install 'ray[data]'`
        pytest.importorskip(module, reason="Ray Data needs pandas and pyarrow: pip install 'ray[data]==2.60.0'")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs for the module; the gate finds it connected and leaves it up."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def feed(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("feed") / "feed.jsonl"
    path.write_text("\n".join(feed_lines()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_run(feed: Path, tmp_path_factory) -> dict[str, dict]:
    """The local engine's decisions: `--jobs 2` on 2 cores, one torch thread per check (as each Ray actor)."""
    out = tmp_path_factory.mktemp("local") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "cpu_count", lambda: 2)  # Workers shares os.cpu_count() cores out among the jobs
        result = gate(str(feed), "--out", str(out), "--jobs", "2", "--quiet")
    assert result.exit_code == 1, result.output
    decided = outcome(out)
    assert len(decided) == 50
    return decided


def test_articles_and_reports_pickle() -> None:
    """Ray moves articles to the actors and reports back by pickling them."""
    from reports import make_report

    report = make_report(CLEAN[0] + " " + CLEAN[1], (), has_title=False)
    again = pickle.loads(pickle.dumps(report))
    assert again == report and again.to_json() == report.to_json()
    assert pickle.loads(pickle.dumps(report.article)) == report.article


def test_without_ray_one_line_says_how_to_install(monkeypatch, tmp_path: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    (tmp_path / "feed.jsonl").write_text(feed_lines()[0] + "\n")
    result = CliRunner().invoke(
        main,
        ["gate", str(tmp_path / "feed.jsonl"), "--out", str(tmp_path / "o"), "-q"]
        + [
            "--engine",
            "ray",
        ],
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "pip install 'mtcheck[ray]'" in lines[0], result.output
    assert not (tmp_path / "o").exists()


def test_ray_options_need_engine_ray(tmp_path: Path) -> None:
    (tmp_path / "feed.jsonl").write_text(feed_lines()[0] + "\n")
    result = CliRunner().invoke(
        main, ["gate", str(tmp_path / "feed.jsonl"), "--out", str(tmp_path / "o"), "--actors", "2"]
    )
    assert result.exit_code == 2 and "--engine ray" in result.output


@pytest.mark.model
def test_ray_engine_decides_as_the_local_engine_once_each(cluster, feed: Path, local_run, tmp_path: Path) -> None:
    before = _sha(feed)
    out = tmp_path / "out"
    result = gate(str(feed), "--out", str(out), "--engine", "ray", "--actors", "2")
    assert result.exit_code == 1, result.output
    assert "2 actors x (1 CPU, 0 GPU) ready" in result.output
    got = outcome(out)
    assert len(got) == 50
    same_decisions(got, local_run)
    decisions = {r["decision"] for r in got.values()}
    assert decisions >= {"accept", "quarantine"}, decisions
    assert got["feed-8"]["reasons"][0]["code"] == "unreadable" and got["empty"]["reasons"][0]["code"] == "unreadable"
    nato = [line for line in feed_lines() if GARBLED[0] in line]  # "... NATO He will. They no longer ..."
    assert nato and all(got[json.loads(line)["id"]]["decision"] != "accept" for line in nato)
    reports = [json.loads((out / r["report"]).read_text()) for r in got.values() if r.get("report")]
    assert reports and {r["settings"]["threads"] for r in reports} == {1}
    # a re-run skips every item and writes nothing; the input is only read
    sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    again = gate(str(feed), "--out", str(out), "--engine", "ray", "--actors", "2")
    assert again.exit_code == 1 and "50 skipped" in again.output and "actors x" not in again.output, again.output
    assert {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()} == sizes
    assert _sha(feed) == before


@pytest.mark.model
def test_an_actor_killed_mid_run_loses_and_duplicates_nothing(
    cluster, feed: Path, local_run, tmp_path: Path, monkeypatch
) -> None:
    made: list[ray_engine.RayWorkers] = []

    class Recorded(ray_engine.RayWorkers):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(ray_engine, "RayWorkers", Recorded)
    out = tmp_path / "out"
    audit = out / "audit.jsonl"
    killed: list[tuple[int, int]] = []  # (pid, items decided when it was killed)
    stop = threading.Event()

    def kill_one_actor() -> None:
        while not stop.is_set():
            decided = audit.read_bytes().count(b"\n") if audit.exists() else 0
            if decided >= 10 and made and made[0]._actors:
                pid = made[0].pids()[0]
                os.kill(pid, signal.SIGKILL)
                killed.append((pid, audit.read_bytes().count(b"\n")))
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_actor, daemon=True)
    killer.start()
    try:
        result = gate(str(feed), "--out", str(out), "--engine", "ray", "--actors", "2", "--quiet")
    finally:
        stop.set()
        killer.join(timeout=30)
    assert killed, "no actor was killed"
    assert killed[0][1] < 45, "the run was nearly over when the actor was killed"
    assert result.exit_code == 1, result.output
    got = outcome(out)
    assert len(got) == 50
    same_decisions(got, local_run)


@pytest.mark.model
def test_map_batches_decides_every_row_as_the_gate(cluster, feed: Path, local_run) -> None:
    need_ray_data()
    rows = []
    for line in feed_lines():
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a line that is no JSON is no row
        rows.append({"id": item["id"], "title": item.get("title"), "text": item.get("text")})
    rows = rows[:16] + [r for r in rows[16:] if r["id"] in {"blank", "no-text", "n20", "n27"}]
    ray.data.DataContext.get_current().enable_progress_bars = False
    ds = ray.data.from_items(rows).map_batches(
        ray_engine.MTCheck, concurrency=1, batch_size=8, num_cpus=1, fn_constructor_kwargs={"corrections": False}
    )
    got = {r["id"]: r for r in ds.take_all()}
    assert set(got) == {r["id"] for r in rows}  # no row dropped
    for key, row in got.items():
        expected = local_run[key]
        assert row["mtcheck_decision"] == expected["decision"], key
        assert [r["code"] for r in json.loads(row["mtcheck_reasons"])] == [r["code"] for r in expected["reasons"]]
        assert json.loads(row["mtcheck_scores"]) == expected["scores"], key
        report = json.loads(row["mtcheck_report"])
        assert (report is None) == (expected["scores"] is None)
        assert report is None or report["settings"]["threads"] == 1
    assert json.loads(got["no-text"]["mtcheck_reasons"])[0]["code"] == "unreadable"


# --- the machinery, on the tiny random model ---------------------------------------------------------


def test_stdin_with_ray_decides_as_local(cluster, tiny_model: Path, tmp_path: Path) -> None:
    lines = feed_lines()[:8]
    data = ("\n".join(lines) + "\n").encode()
    common = ["-", "--model", str(tiny_model), "--quiet"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "cpu_count", lambda: 2)
        local = gate(*common, "--out", str(tmp_path / "local"), "--jobs", "2", input=data)
    ray_run = gate(*common, "--out", str(tmp_path / "ray"), "--engine", "ray", "--actors", "2", input=data)
    assert local.exit_code == ray_run.exit_code == 1, ray_run.output
    got, expected = outcome(tmp_path / "ray"), outcome(tmp_path / "local")
    assert len(got) == 8
    same_decisions(got, expected)


def test_map_batches_pandas_and_unreadable_rows(cluster, tiny_model: Path) -> None:
    """Called as Ray Data calls it, in this process: pandas and numpy batches, rows kept, bad rows quarantined."""
    need_ray_data()
    import numpy as np
    import pandas as pd

    check = ray_engine.MTCheck(model=str(tiny_model), threads=1, reports=False)
    frame = pd.DataFrame(
        {"id": ["a", "b", "c"], "text": [CLEAN[0] + " " + CLEAN[1], None, ""], "title": ["T", None, "T"]}
    )
    out = check(frame)
    assert list(out["id"]) == ["a", "b", "c"] and "mtcheck_report" not in out
    assert list(out["mtcheck_decision"][1:]) == ["quarantine", "quarantine"]
    assert all(json.loads(r)[0]["code"] == "unreadable" for r in out["mtcheck_reasons"][1:])
    batch = {"id": np.array(["a", "b"]), "text": np.array([CLEAN[0], np.nan], dtype=object)}
    numpy_out = check(batch)
    assert len(numpy_out["mtcheck_decision"]) == 2 and numpy_out["mtcheck_decision"][1] == "quarantine"
    assert json.loads(numpy_out["mtcheck_scores"][1]) is None and json.loads(numpy_out["mtcheck_scores"][0])


def test_a_model_that_cannot_load_on_the_actors_fails_the_run_in_one_line(
    cluster, tiny_model: Path, tmp_path: Path, monkeypatch
) -> None:
    """The driver resolves the model (its weights hash), the actors fail to load it: exit 2, one line, no hang."""
    import shutil

    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    (broken / "config.json").write_text('{"model_type": "no-such-architecture"}')
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(feed_lines()[:3]) + "\n")
    start = time.monotonic()
    result = gate(str(feed), "--out", str(tmp_path / "out"), "--engine", "ray", "--actors", "2", "--model", str(broken))
    assert result.exit_code == 2, result.output
    lines = [x for x in result.output.strip().splitlines() if x.startswith("mtcheck: error")]
    assert len(lines) == 1 and "did not start on a Ray actor" in lines[0] and "cannot load model" in lines[0]
    assert time.monotonic() - start < 120
    assert not _lines(tmp_path / "out" / "state.jsonl")


def _ray_daemons() -> set[int]:
    """Process ids of Ray's cluster daemons on this machine (gcs_server, raylet)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                name = (proc / "comm").read_text().strip()
            except OSError:
                continue
            if name in {"gcs_server", "raylet"}:
                found.add(int(proc.name))
    return found


def test_a_gate_process_starts_its_own_ray_and_stops_it(cluster, tiny_model: Path, tmp_path: Path) -> None:
    """`mtcheck gate --engine ray` in a process of its own, not connected to any Ray: it starts a local Ray (more
    actors than cores share them, as --jobs threads do), decides every item once, and stops what it started; the
    module's cluster is left as it was."""
    import subprocess
    import sys

    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(feed_lines()[:6]) + "\n")
    before = _ray_daemons()
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mtcheck", "gate", str(feed), "--out", str(out), "--engine", "ray", "--actors", "3"]
    run = subprocess.run([*cmd, "--model", str(tiny_model)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    assert "3 actors x (1 CPU, 0 GPU) ready" in run.stderr
    assert len(outcome(out)) == 6
    deadline = time.monotonic() + 30
    while _ray_daemons() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_daemons() - before, "the gate left its Ray running"
    assert before <= _ray_daemons() and ray.is_initialized()
