"""Which suggestions help? Reads the records of `mtcheck eval --corrections --records DIR` on dev and, for every
flag of confidence >= 0.5, applies each of its suggestions alone and measures the change of sentence chrF
against the human post-edit (sacrebleu), by the suggestion's source and LM gain. This is how the corrector's
per-source minimum gains were chosen (dev only); `--min-gain source=value` replays a choice: the chrF of applying
the top surviving suggestion of each flag, as `mtcheck eval --corrections` would.

    .venv/bin/mtcheck eval ../shared/eval/mlqe-pe.ro-en.dev.jsonl --corrections --limit 200 --records /tmp/rec
    .venv/bin/python bench/correction_gains.py /tmp/rec [--min-gain rewrite=8 --min-gain edit=4]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sacrebleu.metrics import CHRF, TER  # noqa: E402

from mtcheck.core.types import Flag, Suggestion  # noqa: E402
from mtcheck.correct.corrector import apply_top  # noqa: E402
from mtcheck.evaluate.data import default_eval_dir, load  # noqa: E402

BUCKETS = (2, 4, 6, 8, 12, 1e9)


def _kind(s: Suggestion) -> str:
    return str(s.source) if s.source != "edit" else "edit:" + s.why.split(" ")[0].strip("“")


@click.command()
@click.argument("records", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--eval-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=default_eval_dir())
@click.option("--min-gain", "min_gains", multiple=True, help="source=nats (edit, rule, rewrite), replayed.")
def main(records: Path, eval_dir: Path, min_gains: tuple[str, ...]) -> None:
    need = {k: float(v) for k, v in (m.split("=") for m in min_gains)}
    chrf = CHRF()
    table: dict = defaultdict(list)
    for path in sorted(records.glob("*.records.jsonl")):
        stem = path.name.removesuffix(".records.jsonl")
        items = {it.index: it for it in load(eval_dir / f"{stem}.jsonl")}
        hyps, fixed_all, refs, applied = [], [], [], 0
        for line in path.open(encoding="utf-8"):
            rec = json.loads(line)
            item = items[rec["index"]]
            if not item.post_edit:
                continue
            before = chrf.sentence_score(item.text, [item.post_edit]).score
            flags = []
            for flag in map(Flag.from_json, rec["flags"]):
                kept = [s for s in flag.suggestions if s.gain >= need.get(s.source, 0.0)]
                flags.append(replace(flag, suggestions=tuple(kept)))
                if flag.confidence < 0.5:
                    continue
                for rank, s in enumerate(flag.suggestions):
                    text = item.text[: s.start] + s.replacement + item.text[s.end :]
                    delta = chrf.sentence_score(text, [item.post_edit]).score - before
                    bucket = next(b for b in BUCKETS if s.gain < b)
                    table[(_kind(s), bucket, rank == 0)].append(delta)
            fixed, n = apply_top(item.text, flags)
            hyps.append(item.text)
            fixed_all.append(fixed)
            refs.append(item.post_edit)
            applied += n
        c0, c1 = chrf.corpus_score(hyps, [refs]).score, chrf.corpus_score(fixed_all, [refs]).score
        t0, t1 = TER().corpus_score(hyps, [refs]).score, TER().corpus_score(fixed_all, [refs]).score
        click.echo(f"{stem}: chrF {c0:.2f} -> {c1:.2f}, TER {t0:.2f} -> {t1:.2f} ({applied} applied)")
    click.echo(f"\n{'source':<16} {'gain <':>7} {'top?':>5} {'n':>5} {'mean dchrF':>11} {'share +':>8}")
    for (kind, bucket, top), deltas in sorted(table.items()):
        pos = sum(d > 0 for d in deltas) / len(deltas)
        mean = sum(deltas) / len(deltas)
        click.echo(f"{kind:<16} {bucket:>7g} {str(top):>5} {len(deltas):>5} {mean:>11.2f} {pos:>8.0%}")


if __name__ == "__main__":
    main()
