"""Metrics and calibration maps, pure functions over numbers: the WMT QE measures (MCC, F1, Pearson,
Spearman), calibration error, Platt scaling and the isotonic fit. No model, no files."""

from __future__ import annotations

import math

import numpy as np

MIN_BLOCK = 50  # words per isotonic knot: fewer, and a knot follows the noise of a handful of flags


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


def fit_platt(logits: np.ndarray, y: np.ndarray) -> list[float]:
    """Logistic calibration of the logits on dev (two parameters): Newton steps, each halved until the log-loss
    falls. Plain Newton from (1, 0) diverged on logits far from the labels' scale (a head's raw logits: the
    saturated start has a near-zero Hessian and the step ran to 1e10)."""
    logits, y = np.asarray(logits, np.float64), np.asarray(y, np.float64)

    def loss(a: float, b: float) -> float:
        z = a * logits + b
        return float(np.sum(np.logaddexp(0.0, z) - y * z))

    rate = min(max(float(y.mean()), 1e-6), 1 - 1e-6)
    a, b = 0.0, float(np.log(rate / (1 - rate)))  # the base rate: a start where the Hessian is well-conditioned
    current = loss(a, b)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * logits + b, -40, 40)))
        g = np.array([np.sum((p - y) * logits), np.sum(p - y)])
        w = p * (1 - p)
        h = np.array([[np.sum(w * logits * logits), np.sum(w * logits)], [np.sum(w * logits), np.sum(w)]])
        step = np.linalg.solve(h + 1e-6 * np.eye(2), g)
        scale = 1.0
        while scale > 1e-6 and loss(a - scale * step[0], b - scale * step[1]) > current:
            scale /= 2
        a, b = a - scale * step[0], b - scale * step[1]
        current = loss(a, b)
        if np.abs(scale * step).max() < 1e-6:
            break
    return [float(a), float(b)]


def platt(logits: np.ndarray, ab: list[float]) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(ab[0] * logits + ab[1], -40, 40)))


def isotonic(x: np.ndarray, y: np.ndarray, min_block: int = MIN_BLOCK) -> tuple[list[float], list[float]]:
    """Pool-adjacent-violators: the non-decreasing step fit of y on x, as (x, y) knots (block means); blocks of
    fewer than `min_block` words are pooled with a neighbour (pooling adjacent blocks keeps the fit monotone)."""
    order = np.argsort(x, kind="stable")
    blocks: list[list[float]] = []  # [sum y, count, sum x]
    for i in order:
        blocks.append([float(y[i]), 1.0, float(x[i])])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, n, sx = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
            blocks[-1][2] += sx
    while len(blocks) > 1 and min(b[1] for b in blocks) < min_block:
        i = min(range(len(blocks)), key=lambda k: blocks[k][1])
        j = i - 1 if i == len(blocks) - 1 or (i > 0 and blocks[i - 1][1] < blocks[i + 1][1]) else i + 1
        lo, hi = min(i, j), max(i, j)
        blocks[lo] = [blocks[lo][k] + blocks[hi][k] for k in range(3)]
        del blocks[hi]
    return [b[2] / b[1] for b in blocks], [b[0] / b[1] for b in blocks]
