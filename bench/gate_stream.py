"""Stream N small JSONL items through `mtcheck gate -` (standard input) and measure items per second and
the gate process's memory: peak RSS (getrusage of the child) and RSS sampled along the way (/proc), which
should stay flat after the model is loaded, since items are read and decided one line at a time.

    nice -n 19 .venv/bin/python bench/gate_stream.py --items 300
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SENTENCES = (
    "The minister said the talks would resume next week in Geneva.",
    "Prices rose by 3 percent in October, the statistics office reported.",
    "The company plans to open two new factories in the north of the country.",
    "Police closed the road after a lorry overturned on Tuesday morning.",
    "Voters will go to the polls in March to elect a new parliament.",
)


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=None, help="gate output folder (default: a temporary one)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="mtcheck-gate-stream-"))
    cmd = [sys.executable, "-m", "mtcheck", "gate", "-", "--out", str(out), "--quiet"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    state = out / "state.jsonl"

    def feed() -> None:  # generated on the fly: the input is never held in memory, here or there
        assert proc.stdin is not None
        try:
            for i in range(args.items):
                item = {"id": f"s{i}", "title": f"Item {i}", "body": SENTENCES[i % len(SENTENCES)]}
                proc.stdin.write((json.dumps(item) + "\n").encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass

    threading.Thread(target=feed, daemon=True).start()
    samples: list[tuple[int, int]] = []  # (items decided, RSS KiB)
    first_decision: float | None = None
    while proc.poll() is None:
        time.sleep(1.0)
        done = sum(1 for _ in state.open("rb")) if state.exists() else 0
        if done and first_decision is None:
            first_decision = time.monotonic()
        rss = rss_kib(proc.pid)
        if rss is not None:
            samples.append((done, rss))
    seconds = time.monotonic() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    decided = sum(1 for _ in state.open("rb")) if state.exists() else 0
    print(f"items {args.items}, decided {decided}, exit status {proc.returncode} (1 = some not accepted)")
    print(f"wall time {seconds:.1f} s, {decided / seconds:.2f} items/s overall", end="")
    if first_decision is not None:
        steady = time.monotonic() - first_decision
        print(f", {max(0, decided - 1) / steady:.2f} items/s after the model loaded", end="")
    print()
    print(f"peak RSS of the gate process {peak_kib / 1024:.0f} MiB")
    if samples:
        picks = [samples[int(q * (len(samples) - 1))] for q in (0.1, 0.25, 0.5, 0.75, 1.0)]
        print("RSS along the way (items decided: MiB): " + ", ".join(f"{d}: {r / 1024:.0f}" for d, r in picks))
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
