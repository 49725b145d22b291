"""Fit the suggestions' confidence (`mtcheck/correct/confidence.py`) on artifacts planted in training text.

    .venv/bin/python bench/restore.py --train --articles 10 --seed 29 --no-baselines --records DIR
    .venv/bin/python -m mtcheck.training.suggestion_confidence DIR [--out models/detector/smollm2-135m.suggestion.json]

Each suggestion of each flag in the records is one example: 1 when applying it alone makes its sentence read as
the original did (an artifact restored), 0 otherwise (a wrong repair, or any change to a sentence nothing was
planted in). A logistic regression with an L2 penalty on standardised features; prints the fit's log loss,
ECE and how many suggestions pass 0.5 against how many were right, overall and per source.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from mtcheck.core.report import Report
from mtcheck.correct.confidence import FEATURES, features


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def examples(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    xs, ys, sources = [], [], []
    for path in sorted(folder.glob("*.planted.json")):
        planted = json.loads(path.read_text(encoding="utf-8"))
        report = Report.from_json(json.loads(path.with_name(path.name.replace(".planted", "")).read_text()))
        text = report.text
        for flag in report.flags:
            suggestions = list(flag.suggestions)
            for rank, s in enumerate(suggestions, 1):
                fixed = text[: s.start] + s.replacement + text[s.end :]
                delta = len(fixed) - len(text)
                right = any(
                    s.start >= p["sentence_start"]
                    and s.end <= p["sentence_end"]
                    and _same(fixed[p["sentence_start"] : p["sentence_end"] + delta], p["original"])
                    for p in planted
                )
                xs.append(features(flag, suggestions, rank, text))
                ys.append(float(right))
                sources.append(str(s.source))
    return np.array(xs, dtype=np.float64), np.array(ys), sources


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """Newton's method on the penalised log loss (the bias unpenalised)."""
    n, d = x.shape
    a = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (p >= lo) & ((p < hi) | (hi == 1.0))
        if inside.any():
            total += inside.sum() / len(p) * abs(p[inside].mean() - y[inside].mean())
    return total


@click.command()
@click.argument("records", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the model here.")
@click.option("--l2", default=1.0, show_default=True)
def main(records: Path, out: Path | None, l2: float) -> None:
    x, y, sources = examples(records)
    if not len(y):
        raise click.ClickException(f"{records}: no suggestions in the records")
    means = x.mean(axis=0)
    scales = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    w, b = fit((x - means) / scales, y, l2)
    p = 1 / (1 + np.exp(-np.clip(((x - means) / scales) @ w + b, -30, 30)))
    loss = -float(np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
    click.echo(f"{len(y)} suggestions, {int(y.sum())} restore their artifact; log loss {loss:.3f}, ECE {ece(p, y):.3f}")
    for name in sorted(set(sources)):
        m = np.array([s == name for s in sources])
        sure = m & (p >= 0.5)
        click.echo(
            f"  {name:<8} {m.sum():>5} suggestions, {int(y[m].sum()):>4} right; p >= 0.5: {sure.sum():>4} "
            f"({int(y[sure].sum())} right)"
        )
    sure = p >= 0.5
    right = int(y[sure].sum())
    click.echo(f"  all      p >= 0.5: {sure.sum()} ({right} right, {int(sure.sum()) - right} wrong)")
    for name, weight in zip(FEATURES, w, strict=True):
        click.echo(f"  {name:<18} {weight:+.3f}")
    click.echo(f"  {'bias':<18} {b:+.3f}")
    if out is not None:
        model = {
            "what": "P(a suggestion restores its sentence): logistic regression on standardised features",
            "fitted_on": f"bench/restore.py --train records ({records.name}): artifacts planted in the human "
            "translations of mqm21-ted-zhen.train",
            "features": list(FEATURES),
            "weights": [round(float(v), 6) for v in w],
            "bias": round(b, 6),
            "means": [round(float(v), 6) for v in means],
            "scales": [round(float(v), 6) for v in scales],
            "examples": int(len(y)),
            "positives": int(y.sum()),
            "log_loss": round(loss, 4),
            "ece": round(ece(p, y), 4),
            "l2": l2,
        }
        out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
