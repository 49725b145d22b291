"""Choose the gate's article thresholds on the dev articles: for each article score and threshold, the share of
the worst quarter of MQM-rated MT (by mean penalty) that would be held back (quarantined or rejected), the share
of the best quarter accepted, and the share of human articles (English-original, professional translations)
accepted. Reads what `mtcheck eval --articles ... --records DIR` kept, so a sweep costs no model pass.

    .venv/bin/mtcheck eval --articles ../shared/eval/articles/*.dev.jsonl --records build/records
    .venv/bin/python bench/gate_articles.py build/records ../shared/eval/articles/*.dev.jsonl

Dev only: thresholds chosen here are what the held-back test halves measure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.core.codes import Severity  # noqa: E402
from mtcheck.core.text import WORD  # noqa: E402
from mtcheck.evaluate.articles import load_articles  # noqa: E402

# score -> True when a high value is bad
SCORES = {
    "predicted_bad": True,
    "bad_words_per_sentence": True,
    "bad_words_worst_fifth": True,
    "fluency": False,
    "major_per_1k": True,
    "critical": True,
}


def article_scores(row: dict, words: int) -> dict[str, float | None]:
    severities = [Severity(s) for _a, _b, s in row["flags"]]
    major = sum(1 for s in severities if s.at_least(Severity.MAJOR))
    return {
        "predicted_bad": row["predicted_bad"],
        "bad_words_per_sentence": row.get("bad_words_per_sentence"),
        "bad_words_worst_fifth": row.get("bad_words_worst_fifth"),
        "fluency": row["fluency"],
        "major_per_1k": 1000 * major / words if words else None,
        "critical": float(sum(1 for s in severities if s == Severity.CRITICAL)),
    }


def held(scores: dict, name: str, threshold: float, high_is_bad: bool) -> bool:
    """Whether a check on this score alone would hold the article back (quarantine or reject)."""
    v = scores[name]
    return v is not None and (v > threshold if high_is_bad else v < threshold)


@click.command()
@click.argument("records", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--human-accepted", default=0.97, show_default=True, help="Share of human articles to accept.")
def main(records: Path, files: tuple[Path, ...], human_accepted: float) -> None:
    rated, human = [], []  # (scores, penalty) of rated MT; scores of human articles
    for path in files:
        rec = records / f"{path.stem}.articles.jsonl"
        if not rec.exists():
            continue
        rows = {r["id"]: r for r in map(json.loads, rec.read_text(encoding="utf-8").splitlines())}
        for item in load_articles(path):
            if item.id not in rows:
                continue
            scores = article_scores(rows[item.id], len(WORD.findall(item.text)))
            if item.human:
                human.append(scores)
            elif item.rated:
                rated.append((scores, item.penalty))
    rated.sort(key=lambda p: p[1])
    quarter = len(rated) // 4
    best, worst = [s for s, _p in rated[:quarter]], [s for s, _p in rated[-quarter:]]
    click.echo(f"rated MT articles {len(rated)} (quarters of {quarter}), human articles {len(human)}")
    for name, high_is_bad in SCORES.items():
        values = sorted({v for s in [*best, *worst, *human] if (v := s[name]) is not None})
        if not values:
            continue
        click.echo(f"\n{name} ({'above' if high_is_bad else 'below'} the threshold: held back)")
        click.echo(f"  {'threshold':>10}  {'worst held':>10}  {'best accepted':>13}  {'human accepted':>14}")
        chosen = None
        for t in np.quantile(values, np.linspace(0, 1, 41)):
            w = float(np.mean([held(s, name, t, high_is_bad) for s in worst])) if worst else float("nan")
            b = float(np.mean([not held(s, name, t, high_is_bad) for s in best])) if best else float("nan")
            h = float(np.mean([not held(s, name, t, high_is_bad) for s in human])) if human else float("nan")
            click.echo(f"  {t:>10.4f}  {w:>10.1%}  {b:>13.1%}  {h:>14.1%}")
            if h >= human_accepted and (chosen is None or w > chosen[1]):
                chosen = (float(t), w, b, h)
        if chosen:
            click.echo(
                f"  most held back with {human_accepted:.0%} of human articles accepted: {chosen[0]:.4f} "
                f"(worst held {chosen[1]:.1%}, best accepted {chosen[2]:.1%}, human accepted {chosen[3]:.1%})"
            )


if __name__ == "__main__":
    main()
