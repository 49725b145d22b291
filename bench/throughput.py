"""Single-node throughput of `mtcheck gate`: the local engine with one and two checks at once, and the Ray engine
with two actors, side by side in one run, on real English news, through the command line itself.

    .venv/bin/python bench/throughput.py [--articles 20]

The feed: the first N articles of ../shared/eval/articles/enorig.dev.jsonl (WMT21 English-original news, no
translation: the text a gate mostly sees), as JSONL {"id", "text"}; default policy, no corrections. Runs:

- `--jobs 1`: one check at a time, torch on every core;
- `--jobs 2`: two checks at once on threads of the gate's process (one model), cores shared out;
- `--engine ray --actors 2`: two Ray actors (a local Ray started by the gate), one model each, cores shared out.

For each: wall seconds (start to exit: model load, and Ray's start for the Ray run, included), articles and
words per minute over the wall time, and in steady state (from the first decision to the last, as the audit log
times them: what a long-running feed gets), the ratio of each to `--jobs 1`, peak resident memory of the gate
and its child processes (Ray's raylet and actors are among them), and the decisions (all runs must agree).
The machine is printed first: cores, CPU model, bf16 support, memory, GPU, and the load average (other work on a
shared machine slows every run alike, but not always evenly: rerun when the load is high).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gate_speed import Sampler, write_feed  # noqa: E402  (bench/: peak RSS of a process and its children)

RUNS = [
    ("local --jobs 1", ["--jobs", "1"]),
    ("local --jobs 2", ["--jobs", "2"]),
    ("ray --actors 2", ["--engine", "ray", "--actors", "2"]),
]


def machine() -> list[str]:
    cpu = "unknown"
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = next(
            int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
        )
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        torch_info = f"torch {torch.__version__}"
    except ImportError:
        gpu, torch_info = "unknown (no torch)", "no torch"
    try:
        import ray

        ray_info = f"ray {ray.__version__}"
    except ImportError:
        ray_info = "ray not installed (pip install 'mtcheck[ray]')"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"machine: {os.cpu_count()} cores, {cpu} ({'AVX-512 BF16' if 'avx512_bf16' in flags else 'no AVX-512 BF16'}), "
        f"{mem} memory, GPU: {gpu}",
        f"software: Python {platform.python_version()}, {torch_info}, {ray_info}; load average {load}",
    ]


def gate(feed: Path, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "mtcheck", "gate", str(feed), "--out", str(out), "--quiet", *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(proc.pid)
    _, err = proc.communicate()
    sampler.stop()
    wall = time.perf_counter() - start
    audit = [json.loads(x) for x in (out / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    times = sorted(datetime.strptime(a["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for a in audit)
    decisions = {a["id"]: a["decision"] for a in audit}
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return {
        "wall": wall,
        "steady": times[-1] - times[0] if len(times) > 1 else None,
        "peak_mb": sampler.peak_mb,
        "decisions": decisions,
    }


@click.command()
@click.option("--articles", "n", default=20, show_default=True, help="Articles of enorig.dev.jsonl to gate.")
def main(n: int) -> None:
    for line in machine():
        print(line)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        feed = work / "feed.jsonl"
        count, words = write_feed(feed, n, "enorig.dev.jsonl")
        print(
            f"feed: {count} English-original news articles (enorig.dev.jsonl), {words} words, {words / count:.0f} each"
        )
        results = {}
        for i, (name, extra) in enumerate(RUNS):
            results[name] = r = gate(feed, work / f"out-{i}", extra)
            per_article = (r["steady"] / (count - 1)) if r["steady"] else None
            steady = (
                f"{60 / per_article:6.1f} art/min, {60 * words / count / per_article:7.0f} words/min"
                if per_article
                else "n/a"
            )
            print(
                f"{name:<16} wall {r['wall']:6.1f} s: {60 * count / r['wall']:6.1f} art/min, "
                f"{60 * words / r['wall']:7.0f} words/min | steady state: {steady} | peak RSS {r['peak_mb']:6.0f} MB"
            )
        base = results[RUNS[0][0]]
        for name, r in results.items():
            wall = base["wall"] / r["wall"]
            steady = base["steady"] / r["steady"] if base["steady"] and r["steady"] else float("nan")
            print(f"ratio to --jobs 1: {name:<16} wall {wall:4.2f}x, steady state {steady:4.2f}x")
        counts = {d: list(base["decisions"].values()).count(d) for d in ("accept", "quarantine", "reject")}
        print(f"decisions (--jobs 1): {counts}")
        two, ray_run = results[RUNS[1][0]]["decisions"], results[RUNS[2][0]]["decisions"]
        print(f"--jobs 2 and ray --actors 2 (one thread per check each) decide alike: {two == ray_run}")
        differ = sorted(k for k in base["decisions"] if base["decisions"][k] != two.get(k))
        print(
            f"--jobs 1 (every core per check; bf16 sums in another order) differs from --jobs 2 on: {differ or 'none'}"
        )


if __name__ == "__main__":
    main()
