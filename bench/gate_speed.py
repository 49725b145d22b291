"""Throughput and memory of `mtcheck gate` on this machine, measured through the command line itself.

    .venv/bin/python bench/gate_speed.py [--articles 100] [--jobs 2] [--baseline REV]

1. Throughput: the first N articles of ../shared/eval/articles/mqm23-zhen.dev.jsonl as a JSONL feed, gated with the
   default policy (no corrections, then `--corrections`, which proposes them for major and critical flags only):
   wall seconds, seconds per 1,000 words, articles per minute and peak RSS of the gate process. With `--baseline
   REV`, the same feed is gated by that commit of mtcheck (a git worktree beside this checkout, the same venv and
   model) in the same run, and the ratio of the two is printed.
2. With `--jobs N`, the same feed once more with N articles at once (threads of the gate's process, one model).

Memory over a long stream of items is `bench/gate_stream.py`'s to measure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.evaluate.data import default_eval_dir  # noqa: E402


def write_feed(path: Path, n: int, name: str = "mqm23-zhen.dev.jsonl") -> tuple[int, int]:
    """The first n articles of a dev article file as a JSONL feed {"id", "text"}: (articles, words)."""
    source = default_eval_dir() / "articles" / name
    words = count = 0
    with open(source, encoding="utf-8") as f, open(path, "w", encoding="utf-8") as out:
        for line in f:
            if count == n:
                break
            item = json.loads(line)
            out.write(json.dumps({"id": item["id"], "text": item["text"]}, ensure_ascii=False) + "\n")
            words += len(item["text"].split())
            count += 1
    return count, words


class Sampler:
    """Peak and current resident memory of a process and its children, sampled from /proc."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every, self.peak_mb, self.now_mb = pid, every, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _rss(self) -> float:
        total = 0
        for pid in [self.pid, *_children(self.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def _run(self) -> None:
        while not self._stop.is_set():
            self.now_mb = self._rss()
            self.peak_mb = max(self.peak_mb, self.now_mb)
            time.sleep(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found] + [g for c in found for g in _children(int(c))]


def _gate(cwd: Path, feed: Path, out: Path, extra: list[str], stdin=None) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) and exit status of one gate run."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "mtcheck", "gate", str(feed), "--out", str(out), "--quiet", *extra]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=stdin)
    sampler = Sampler(proc.pid)
    proc.wait()
    sampler.stop()
    return time.perf_counter() - start, sampler.peak_mb, proc.returncode


def _decisions(out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in (out / "audit.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)["decision"]
        counts[d] = counts.get(d, 0) + 1
    return counts


@click.command()
@click.option("--articles", "n_articles", default=100, show_default=True)
@click.option("--jobs", default=0, show_default=True, help="Also gate with this many worker processes (0: skip).")
@click.option("--baseline", default=None, metavar="REV", help="Also gate the feed with this commit, side by side.")
@click.option("--corrections/--no-corrections", default=True, show_default=True, help="Also the --corrections run.")
def main(n_articles: int, jobs: int, baseline: str | None, corrections: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        feed = work / "feed.jsonl"
        count, words = write_feed(feed, n_articles)
        print(f"feed: {count} mqm23-zhen dev articles, {words} words")
        runs = [("this checkout", ROOT, [])]
        if corrections:
            runs.append(("this checkout, --corrections", ROOT, ["--corrections"]))
        if jobs:
            runs.append((f"this checkout, --jobs {jobs}", ROOT, ["--jobs", str(jobs)]))  # threads, one model
        if baseline:
            tree = work / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(tree), baseline], cwd=ROOT, check=True)
            runs.append((f"baseline {baseline}", tree, []))
        seconds: dict[str, float] = {}
        try:
            for name, cwd, extra in runs:
                out = work / f"out-{len(seconds)}"
                took, peak, rc = _gate(cwd, feed, out, extra)
                seconds[name] = took
                print(
                    f"{name:<32} {took:7.1f} s  {1000 * took / words:5.2f} s per 1,000 words  "
                    f"{60 * count / took:5.1f} articles/min  peak RSS {peak:6.0f} MB  exit {rc}  {_decisions(out)}"
                )
        finally:
            if baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(work / "baseline")], cwd=ROOT)
        if baseline:
            for name in [n for n in seconds if not n.startswith("baseline")]:
                ratio = seconds[f"baseline {baseline}"] / seconds[name]
                print(f"throughput of {name}: {ratio:.2f}x the baseline's (same feed, same machine, one run)")


if __name__ == "__main__":
    main()
