"""Regenerate the golden outputs that pin mtcheck's behaviour (`tests/test_golden.py` compares against them).

Run only when a change is meant to move the figures, and say why in the commit:
    .venv/bin/python tests/golden/regen.py [--lines N]
It uses the command line alone, so the same script pins behaviour across any rewrite of the package.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent
ROOT = GOLDEN.parent.parent
EVAL = ROOT.parent / "shared" / "eval"
MTCHECK = [sys.executable, "-m", "mtcheck"]
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


def dev_lines(name: str, limit: int) -> list[str]:
    """The first `limit` MT lines of a dev file, as text (Moses escapes undone, tokens detokenised)."""
    out = subprocess.run(
        [*MTCHECK[:1], "-c", _LINES_SNIPPET, str(EVAL / name), str(limit)], check=True, capture_output=True, text=True
    )
    return out.stdout.splitlines()


# Detokenising as the eval harness does; kept as a snippet so this script does not import mtcheck itself.
_LINES_SNIPPET = """
import sys
from pathlib import Path
try:
    from mtcheck.evaluate.data import load
except ImportError:
    from mtcheck.evaldata import load
for item in load(Path(sys.argv[1]), int(sys.argv[2])):
    print(item.text.replace(chr(10), ' '))
"""


def stable(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in VOLATILE}


def check_seeds(out: Path) -> dict[str, dict]:
    subprocess.run([*MTCHECK, "check", str(ROOT / "seeds"), "--out", str(out), "--quiet"], check=True)
    return {p.name: stable(json.loads(p.read_text())) for p in sorted(out.glob("*.json"))}


def check_lines(name: str, lang: str, limit: int, work: Path) -> list[dict]:
    source = work / f"{name}.txt"
    source.write_text("".join(line + "\n" for line in dev_lines(name, limit)), encoding="utf-8")
    target = work / f"{name}.out.jsonl"
    cmd = [*MTCHECK, "check", "--lines", str(source), "--source-lang", lang, "--out", str(target), "--quiet"]
    subprocess.run(cmd, check=True)
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=200, help="lines of each dev file")
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
