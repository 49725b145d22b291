"""Which suggestions help? For every flag (confidence >= 0.5) on annotated dev MT, apply each of its
suggestions alone and measure the change of sentence chrF against the human post-edit (sacrebleu), by the
suggestion's source and LM gain. This is how the corrector's per-source minimum gains were chosen (dev only).

    .venv/bin/python bench/correction_gains.py ../shared/eval/mlqe-pe.ro-en.dev.jsonl --limit 150 [--skip 0]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sacrebleu.metrics import CHRF  # noqa: E402

from mtcheck.detecting.tagger import source_of  # noqa: E402
from mtcheck.evaldata import load  # noqa: E402
from mtcheck.pipeline import Checker  # noqa: E402
from mtcheck.reading import line_article  # noqa: E402

BUCKETS = (0.5, 2, 4, 6, 8, 12, 1e9)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--limit", default=150, show_default=True)
@click.option("--skip", default=0, show_default=True, help="Start after this many sentences.")
@click.option("--dump", type=click.Path(path_type=Path), default=None, help="Write every suggestion as JSONL.")
def main(files: tuple[Path, ...], limit: int, skip: int, dump: Path | None) -> None:
    checker = Checker()
    assert checker.corrector is not None
    checker.corrector.settings.min_gain = 0.5
    checker.corrector.settings.min_gain_by_source = {}  # every suggestion, to measure them all
    chrf = CHRF()
    rows = []
    for path in files:
        checker.detector.use_source(source_of(path.name))
        items = [it for it in load(path, skip + limit)[skip:] if it.post_edit]
        for lo in range(0, len(items), 32):
            chunk = items[lo : lo + 32]
            reports = checker.check_lines([line_article(it.text, it.index, str(path)) for it in chunk])
            for item, report in zip(chunk, reports, strict=True):
                before = chrf.sentence_score(item.text, [item.post_edit]).score
                for flag in report["flags"]:
                    if flag["confidence"] < 0.5:
                        continue
                    for rank, s in enumerate(flag["suggestions"]):
                        fixed = item.text[: s["start"]] + s["replacement"] + item.text[s["end"] :]
                        delta = chrf.sentence_score(fixed, [item.post_edit]).score - before
                        rows.append(
                            {
                                "file": path.name,
                                "rank": rank,
                                "source": s["source"],
                                "why": s["why"],
                                "gain": s["gain"],
                                "delta": round(delta, 3),
                            }
                        )
            click.echo(f"{path.name}: {min(lo + 32, len(items))}/{len(items)}", err=True)
    if dump:
        dump.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table: dict = defaultdict(list)
    for r in rows:
        kind = r["source"] if r["source"] != "edit" else ("edit:" + r["why"].split(" ")[0])
        bucket = next(b for b in BUCKETS if r["gain"] < b)
        table[(kind, bucket, r["rank"] == 0)].append(r["delta"])
    click.echo(f"{'source':<14} {'gain <':>7} {'top?':>5} {'n':>5} {'mean dchrF':>11} {'share +':>8}")
    for (kind, bucket, top), deltas in sorted(table.items()):
        pos = sum(d > 0 for d in deltas) / len(deltas)
        click.echo(
            f"{kind:<14} {bucket:>7g} {str(top):>5} {len(deltas):>5} {sum(deltas) / len(deltas):>11.2f} {pos:>8.0%}"
        )


if __name__ == "__main__":
    main()
