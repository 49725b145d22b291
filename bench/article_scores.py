"""Candidate article scores against the three things an article score must do on the dev articles: rank MT
systems as MQM raters do, rank professional translations above MT of the same documents, and hold back the worst
MT while accepting human news (the gate). Reads what `mtcheck eval --articles ... --records DIR` kept, so a
comparison costs no model pass.

    .venv/bin/mtcheck eval --articles ../shared/eval/articles/*.dev.jsonl --records build/records
    .venv/bin/python bench/article_scores.py build/records ../shared/eval/articles/*.dev.jsonl

Columns: `worst held` / `best accepted`: the shares of the worst and best quarters of the MQM-rated MT (by mean
penalty per segment) held back and accepted at the threshold that accepts 97% of the human articles
(English-original news and professional translations); `AUC ru` / `AUC ja`: professional translation against
MT of the same documents (higher: MT reads worse); `MT > en-orig`: MQM MT against English-original news;
`systems`: pairwise accuracy of the 10 MQM systems ranked by their mean score. Scores that are text statistics
(sentence length, type-token ratio) are there to show what a confound alone reaches, not as candidates.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.evaluate.articles import AnnotatedArticle, _auc, _pairwise, load_articles  # noqa: E402

_WORD = re.compile(r"[\w’'\-]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def candidates(item: AnnotatedArticle, row: dict) -> dict[str, float]:
    """Each candidate score of one article (higher: worse), from its text and its record."""
    body = item.text.split("\n\n", 1)[-1]  # the headline aside
    words = _WORD.findall(body)
    lengths = [len(_WORD.findall(s)) for s in _SENTENCE_END.split(body) if s.strip()] or [0]
    probs = [p for _a, _b, p in row["word_bad"]] or [0.0]
    head = words[:300]
    return {
        "P(BAD), mean over words (shipped)": row["predicted_bad"],
        "P(BAD), 90th percentile of words": float(np.percentile(probs, 90)),
        "P(BAD), spread (std) over words": float(np.std(probs)),
        "expected BAD words per sentence": row["predicted_bad"] * float(np.mean(lengths)),
        "words tagged BAD per 1,000": 1000 * len(row.get("bad_words") or []) / max(1, len(words)),
        "flags per 1,000 words": 1000 * len(row["flags"]) / max(1, len(words)),
        "fluency (negated)": -row["fluency"],
        "mean sentence length (confound)": float(np.mean(lengths)),
        "type-token ratio, negated (confound)": -len({w.lower() for w in head}) / max(1, len(head)),
    }


@click.command()
@click.argument("records", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--human-accepted", default=0.97, show_default=True, help="Share of human articles to accept.")
def main(records: Path, files: tuple[Path, ...], human_accepted: float) -> None:
    data: list[tuple[str, AnnotatedArticle, dict[str, float]]] = []
    for path in files:
        rec = records / f"{path.stem}.articles.jsonl"
        if not rec.exists():
            continue
        rows = {r["id"]: r for r in map(json.loads, rec.read_text(encoding="utf-8").splitlines())}
        data += [(path.stem, it, candidates(it, rows[it.id])) for it in load_articles(path) if it.id in rows]
    rated = sorted(((it, s) for _f, it, s in data if it.rated and not it.human), key=lambda p: p[0].penalty)
    quarter = len(rated) // 4
    worst, best = [s for _it, s in rated[-quarter:]], [s for _it, s in rated[:quarter]]
    human = [s for _f, it, s in data if it.human]
    english = [s for _f, it, s in data if it.human and it.who == "original"]

    def gate(score: Callable[[dict], float]) -> tuple[float | None, float | None]:
        if not human or not worst:
            return None, None
        t = float(np.quantile([score(s) for s in human], human_accepted))
        return float(np.mean([score(s) > t for s in worst])), float(np.mean([score(s) <= t for s in best]))

    def auc(stem: str, score: Callable[[dict], float]) -> float | None:
        mine = [(it, s) for f, it, s in data if f.startswith(stem)]
        docs = sorted({it.doc for it, _s in mine if it.human})
        values = [
            _auc(
                [score(s) for it, s in mine if it.doc == d and not it.human],
                [score(s) for it, s in mine if it.doc == d and it.human],
            )
            for d in docs
        ]
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    def systems(score: Callable[[dict], float]) -> float | None:
        by: dict[str, list[tuple[float, float]]] = {}
        for it, s in rated:
            by.setdefault(it.who, []).append((score(s), it.penalty))
        if len(by) < 2:
            return None
        return _pairwise([float(np.mean([a for a, _p in v])) for v in by.values()],
                         [float(np.mean([p for _a, p in v])) for v in by.values()])  # fmt: skip

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    click.echo(
        f"rated MT {len(rated)} (quarters of {quarter}), human {len(human)} ({len(english)} English-original); "
        f"threshold: {human_accepted:.0%} of human accepted"
    )
    names = list(data[0][2]) if data else []
    width = max(len(n) for n in names) if names else 10
    click.echo(f"{'score':<{width}}  worst held  best accepted  AUC ru  AUC ja  MT > en-orig  systems")
    for name in names:
        score = lambda s, n=name: s[n]  # noqa: E731
        w, b = gate(score)
        mt_vs_english = _auc([score(s) for _it, s in rated], [score(s) for s in english]) if english else None
        click.echo(
            f"{name:<{width}}  {f(w):>10}  {f(b):>13}  {f(auc('wmt21-ruen', score)):>6}  "
            f"{f(auc('wmt21-jaen', score)):>6}  {f(mt_vs_english):>12}  {f(systems(score)):>7}"
        )


if __name__ == "__main__":
    main()
