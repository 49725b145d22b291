"""Measure the detector against human word tags and sentence scores (WMT QE metrics).

Runs through the same code path as `mtcheck check --lines`: each MT sentence is one line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sacrebleu.metrics import CHRF, TER

from mtcheck.core.metrics import calibration_error, f1, mcc, pearson, spearman
from mtcheck.core.types import Flag
from mtcheck.correct.corrector import apply_top
from mtcheck.evaluate.data import load
from mtcheck.pipeline import Checker, check_line_articles
from mtcheck.reading.formats import line_article


def token_values(spans: list[tuple[int, int]], flags: list[Flag], key: str = "confidence") -> list[float]:
    """Per MT token, the highest `key` (confidence or evidence) of a flag covering one of its characters (0 when
    none does): how flagged character spans are read as word tags."""
    return [
        max((getattr(f, key) for f in flags if f.start < end and f.end > start), default=0.0) for start, end in spans
    ]


@dataclass
class EvalResult:
    name: str
    sentences: int
    tokens: int
    bad_rate: float
    mcc: float
    f1_bad: float
    f1_ok: float
    pearson_fluency: float | None
    spearman_fluency: float | None
    pearson_share: float | None
    pearson_predicted: float | None
    spearman_predicted: float | None
    ece: float | None
    flagged_sentences: float
    seconds_per_1k_tokens: float
    chrf_mt: float | None
    ter_mt: float | None
    chrf_corrected: float | None = None
    ter_corrected: float | None = None
    applied: int = 0

    def table(self) -> str:
        rows = [
            ("sentences / MT tokens", f"{self.sentences} / {self.tokens} (BAD {self.bad_rate:.1%})"),
            ("word MCC", f"{self.mcc:.3f}"),
            ("word F1-BAD / F1-OK", f"{self.f1_bad:.3f} / {self.f1_ok:.3f}"),
        ]
        if self.pearson_fluency is not None:
            rows.append(
                ("HTER Pearson / Spearman (100-fluency)", f"{self.pearson_fluency:.3f} / {self.spearman_fluency:.3f}")
            )
            rows.append(("HTER Pearson (flagged share)", f"{self.pearson_share:.3f}"))
            if self.pearson_predicted is not None:
                rows.append(
                    (
                        "HTER Pearson / Spearman (predicted BAD share)",
                        f"{self.pearson_predicted:.3f} / {self.spearman_predicted:.3f}",
                    )
                )
        if self.chrf_mt is not None:
            rows.append(("MT vs post-edit chrF / TER (sacrebleu)", f"{self.chrf_mt:.2f} / {self.ter_mt:.2f}"))
        if self.chrf_corrected is not None:
            rows.append(
                (
                    "corrected vs post-edit chrF / TER",
                    f"{self.chrf_corrected:.2f} / {self.ter_corrected:.2f} ({self.applied} suggestions applied)",
                )
            )
        rows.append(("flag confidence ECE", "n/a" if self.ece is None else f"{self.ece:.3f}"))
        rows.append(("sentences flagged", f"{self.flagged_sentences:.1%}"))
        rows.append(("seconds per 1,000 tokens", f"{self.seconds_per_1k_tokens:.1f}"))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def evaluate(
    checker: Checker,
    path: Path,
    limit: int | None = None,
    batch: int = 64,
    progress=None,
    min_confidence: float = 0.5,
    skip: set[int] | None = None,
) -> tuple[EvalResult, list[dict]]:
    """The detector over a data file (its first `limit` lines, less the line indices in `skip`)."""
    items = [it for it in load(path, limit) if it.index not in (skip or set())]
    pred: list[bool] = []
    gold: list[bool] = []
    confidence: list[float] = []
    hters, badness, shares, predicted = [], [], [], []
    corrected: list[str] = []
    applied = 0
    flagged = 0
    records: list[dict] = []
    start = time.perf_counter()
    articles = [line_article(it.text, it.index, str(path)) for it in items]
    for item, report in zip(items, check_line_articles(checker, articles, batch, progress), strict=True):
        flags = list(report.flags)
        conf = token_values(item.spans, flags)
        p = [c > 0 for c in conf]
        confidence += conf
        pred += p
        gold += item.tags
        flagged += bool(flags)
        values = [s.fluency for s in report.segments if s.fluency is not None]
        fluency = sum(values) / len(values) if values else 100.0
        if item.hter is not None:
            hters.append(item.hter)
            badness.append(100.0 - fluency)
            shares.append(sum(p) / max(1, len(p)))
            predicted.append(report.scores.predicted_bad)
        fixed, n = apply_top(item.text, flags, min_confidence)
        corrected.append(fixed)
        applied += n
        records.append(
            {
                "index": item.index,
                "pred": p,
                "gold": item.tags,
                "fluency": fluency,
                "flags": [f.to_json() for f in flags],
            }
        )
    seconds = time.perf_counter() - start
    tokens = len(gold)
    chrf = ter = None
    # chrF/TER over the sentences that have a human post-edit
    with_pe = [i for i, it in enumerate(items) if it.post_edit]
    chrf_fixed = ter_fixed = None
    if with_pe:
        refs = [[items[i].post_edit for i in with_pe]]
        hyps = [items[i].text for i in with_pe]
        chrf = CHRF().corpus_score(hyps, refs).score
        ter = TER().corpus_score(hyps, refs).score
        if checker.corrector is not None:
            fixed = [corrected[i] for i in with_pe]
            chrf_fixed = CHRF().corpus_score(fixed, refs).score
            ter_fixed = TER().corpus_score(fixed, refs).score
    result = EvalResult(
        name=path.name,
        sentences=len(items),
        tokens=tokens,
        bad_rate=sum(gold) / max(1, tokens),
        mcc=mcc(pred, gold),
        f1_bad=f1(pred, gold, True),
        f1_ok=f1(pred, gold, False),
        pearson_fluency=pearson(badness, hters) if hters else None,
        spearman_fluency=spearman(badness, hters) if hters else None,
        pearson_share=pearson(shares, hters) if hters else None,
        pearson_predicted=pearson(predicted, hters) if hters and None not in predicted else None,
        spearman_predicted=spearman(predicted, hters) if hters and None not in predicted else None,
        ece=calibration_error(confidence, gold),
        flagged_sentences=flagged / max(1, len(items)),
        seconds_per_1k_tokens=1000 * seconds / max(1, tokens),
        chrf_mt=chrf,
        ter_mt=ter,
        chrf_corrected=chrf_fixed,
        ter_corrected=ter_fixed,
        applied=applied,
    )
    return result, records
