"""Regenerate the golden outputs that pin mtcheck's behaviour (`tests/test_golden.py` compares against them):
`mtcheck check seeds/` (each report's JSON, `created` aside) and `mtcheck check --lines --source-lang XX
--no-corrections` on the first 200 MT lines of each dev file of ../shared/eval, both in fp32 (`PRECISION`).

Run it only when a change is meant to move the figures, and say in the commit what moved and why:
    .venv/bin/python tests/golden/regen.py [--only seeds|FILE] [--lines N]
Everything goes through the command line, so the same script pins behaviour across any rewrite of the package.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent
ROOT = GOLDEN.parent.parent
MTCHECK = [sys.executable, "-m", "mtcheck"]
LINES = 200
# (dev file, --source-lang): every MLQE-PE pair and the zh-en news MQM lines
LINE_FILES = [
    ("mlqe-pe.et-en.dev.jsonl", "et"),
    ("mlqe-pe.ne-en.dev.jsonl", "ne"),
    ("mlqe-pe.ro-en.dev.jsonl", "ro"),
    ("mlqe-pe.ru-en.dev.jsonl", "ru"),
    ("mlqe-pe.si-en.dev.jsonl", "si"),
    ("wmt22qe.zh-en.dev2022.jsonl", "zh"),
]
VOLATILE = ("created",)
# fp32, not the default `auto` (bf16 where the CPU has it): bf16 results depend on the CPU's kernels (an AVX-512
# BF16 machine and an AMX one disagree in the third digit and on borderline severities), fp32 ones only in the
# order of a sum (`test_golden.close`).
PRECISION = ("--precision", "fp32")
# Lines without corrections: in fp32 the corrector's rescoring made the six files cost about 40 minutes on 2
# cores. The seeds pin the corrections (fp32, with corrections); the lines pin detection and scores.
LINE_OPTIONS = ("--no-corrections",)


def eval_dir() -> Path:
    from mtcheck.evaluate.data import default_eval_dir

    return default_eval_dir()


def stable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in VOLATILE}


def check_seeds(out: Path) -> dict[str, dict]:
    """Each seed's report, as `mtcheck check seeds/` writes it from the checkout (relative paths)."""
    subprocess.run([*MTCHECK, "check", "seeds", "--out", str(out), "--quiet", *PRECISION], check=True, cwd=ROOT)
    return {p.name: stable(json.loads(p.read_text(encoding="utf-8"))) for p in sorted(out.glob("*.json"))}


def check_lines(name: str, lang: str, limit: int, work: Path) -> list[dict]:
    """The JSONL records of `check --lines` on the first `limit` MT lines of a dev file."""
    from mtcheck.evaluate.data import load

    source = work / f"{name}.txt"
    lines = [item.text.replace("\n", " ") for item in load(eval_dir() / name, limit)]
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    target = work / f"{name}.out.jsonl"
    cmd = [*MTCHECK, "check", "--lines", str(source), "--source-lang", lang, "--out", str(target), "--quiet"]
    cmd += [*PRECISION, *LINE_OPTIONS]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=LINES, help="lines of each dev file")
    parser.add_argument("--only", default=None, help="seeds, or one dev file name")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only in (None, "seeds"):
            for name, report in check_seeds(work / "seeds").items():
                path = GOLDEN / "seeds" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for name, lang in LINE_FILES:
            if args.only not in (None, name):
                continue
            records = check_lines(name, lang, args.lines, work)
            path = GOLDEN / "lines" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
            print(f"{name}: {len(records)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
