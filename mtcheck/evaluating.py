"""Measure the detector against human word tags and sentence scores (WMT QE metrics).

Runs through the same code path as `mtcheck check --lines`: each MT sentence is one line.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sacrebleu.metrics import CHRF, TER

from .correcting import apply_top
from .evaldata import EvalItem, load
from .pipeline import Checker
from .reading import line_article


def mcc(pred: list[bool], gold: list[bool]) -> float:
    p, g = np.asarray(pred, bool), np.asarray(gold, bool)
    tp, tn = float(np.sum(p & g)), float(np.sum(~p & ~g))
    fp, fn = float(np.sum(p & ~g)), float(np.sum(~p & g))
    denom = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return (tp * tn - fp * fn) / denom if denom else 0.0


def f1(pred: list[bool], gold: list[bool], positive: bool = True) -> float:
    p = np.asarray(pred, bool) == positive
    g = np.asarray(gold, bool) == positive
    tp = float(np.sum(p & g))
    precision = tp / p.sum() if p.sum() else 0.0
    recall = tp / g.sum() if g.sum() else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def pearson(x: list[float], y: list[float]) -> float:
    a, b = np.asarray(x, float), np.asarray(y, float)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), float)
    ranks[order] = np.arange(len(x), dtype=float)
    # average the ranks of ties
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.zeros(len(values))
    np.add.at(sums, inverse, ranks)
    return sums[inverse] / counts[inverse]


def spearman(x: list[float], y: list[float]) -> float:
    return pearson(list(_ranks(np.asarray(x, float))), list(_ranks(np.asarray(y, float))))


def token_confidences(item: EvalItem, flags: list[dict]) -> list[float]:
    """Per MT token, the highest confidence of a flag covering one of its characters (0 when none does)."""
    return [
        max((f["confidence"] for f in flags if f["start"] < end and f["end"] > start), default=0.0)
        for start, end in item.spans
    ]


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Mean |predicted probability - observed rate| over equal-width bins, weighted by the bins' shares."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = ((p > lo) | ((lo == 0) & (p == 0))) & (p <= hi)  # (lo, hi]: a confidence of 0.9 is judged with 0.85
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


def calibration_error(confidence: list[float], gold: list[bool], bins: int = 10) -> float | None:
    """Expected calibration error of flag confidence over the flagged tokens: |confidence - BAD rate|."""
    c = np.asarray(confidence, float)
    flagged = c > 0
    if not flagged.any():
        return None
    return expected_calibration_error(c[flagged], np.asarray(gold, float)[flagged], bins)


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
    for lo in range(0, len(items), batch):
        chunk = items[lo : lo + batch]
        reports = checker.check_lines([line_article(it.text, it.index, str(path)) for it in chunk])
        for item, report in zip(chunk, reports, strict=True):
            conf = token_confidences(item, report["flags"])
            p = [c > 0 for c in conf]
            confidence += conf
            pred += p
            gold += item.tags
            flagged += bool(report["flags"])
            values = [s["fluency"] for s in report["segments"] if s.get("fluency") is not None]
            fluency = sum(values) / len(values) if values else 100.0
            if item.hter is not None:
                hters.append(item.hter)
                badness.append(100.0 - fluency)
                shares.append(sum(p) / max(1, len(p)))
                predicted.append(report["scores"]["predicted_bad"])
            fixed, n = apply_top(item.text, report["flags"], min_confidence)
            corrected.append(fixed)
            applied += n
            records.append(
                {"index": item.index, "pred": p, "gold": item.tags, "fluency": fluency, "flags": report["flags"]}
            )
        if progress:
            progress(len(chunk))
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
