"""Calibrated flag confidence: the share of a flag's words that are truly wrong.

A flag's raw evidence (1 - prod(1 - c) over its distinct reasons) ranks flags well but is not a probability:
rules and edit gain are sure of themselves on news text with a 2% error rate too. So the confidence a report
shows is the raw evidence mapped through an isotonic (monotone) curve fitted on dev: among dev words covered by a
flag of evidence e, the share that annotators marked BAD. One curve per source language with dev data, and a
pooled one for text of unknown origin. Severity still follows the evidence (see `detect/severity.py`).

A source whose dev split has too few flags (zh news MQM: 8 flagged sentences of 1,019) is fitted instead on
lines of its train split that no tagger was trained on (`mtcheck eval --skip-trained`), and measured on dev.

    mtcheck eval ../shared/eval/<dev files> --records DIR
    mtcheck eval ../shared/eval/wmt22qe.zh-en.train2021news.jsonl --skip-trained --records DIR
    python -m mtcheck.training.fit_confidence DIR --eval-dir ../shared/eval

Whole articles have a curve of their own (`article_flag_confidence`), fitted on the dev articles that raters
annotated, a flag as the point (its evidence against the share of its words under a rater's span): an
article's flags come from rules and edit gains on mostly well-formed text, not from lines that are each an MT
output.

    mtcheck eval --articles ../shared/eval/articles/mqm23-zhen.dev.jsonl --records DIR
    python -m mtcheck.training.fit_confidence DIR --articles [--measure DEV_DIR]
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from mtcheck.core.metrics import MIN_BLOCK, calibration_error, expected_calibration_error, isotonic
from mtcheck.core.types import Flag
from mtcheck.detect.confidence import ConfidenceMap, curve_for
from mtcheck.evaluate.articles import flag_error_shares, load_articles, words_on_error
from mtcheck.evaluate.data import default_eval_dir, load, source_of
from mtcheck.evaluate.harness import token_values
from mtcheck.models import DETECTOR_DIR

MIN_SOURCE_WORDS = 150  # flagged dev words a source needs for a curve of its own
# ... and flagged dev sentences. With fewer, its flags keep their raw evidence: a curve drawn through a handful of
# sentences follows them, and the pooled curve follows MLQE-PE's error rates. zh news MQM dev has 9 flagged
# sentences of 1,019; held out (two-fold), its ECE was 0.25 with its own curve, 0.22 pooled, 0.07 raw.
MIN_SOURCE_SENTENCES = 50


def is_train_split(stem: str) -> bool:
    """Records of a train split (`mlqe-pe.ro-en.train`, `wmt22qe.zh-en.train2021news`) rather than dev."""
    return ".train" in stem


def fit(
    records_dir: Path,
    eval_dir: Path,
    every: int = 1,
    offset: int = 0,
    min_block: int = MIN_BLOCK,
    min_source_words: int = MIN_SOURCE_WORDS,
    min_source_sentences: int = MIN_SOURCE_SENTENCES,
) -> dict[str, dict]:
    """Knots per source language (and pooled) from eval records.

    A source with records of train lines the taggers never saw (`mtcheck eval --skip-trained` on a train split)
    is fitted on those; the others on their dev records, of which `every`/`offset` select a share of sentences
    (the minimum counts then shrink by the same share). The pooled curve is fitted on dev records."""
    parts: dict[tuple[str, bool], list[tuple[np.ndarray, np.ndarray, int]]] = {}
    for path in sorted(records_dir.glob("*.records.jsonl")):
        stem = path.name.removesuffix(".records.jsonl")
        source = source_of(stem) or stem
        train = is_train_split(stem)
        items = {it.index: it for it in load(eval_dir / f"{stem}.jsonl")}
        xs, ys, flagged = [], [], 0
        for n, line in enumerate(path.open(encoding="utf-8")):
            if not train and n % every != offset:
                continue
            rec = json.loads(line)
            item = items[rec["index"]]
            e = np.array(token_values(item.spans, [Flag.from_json(f) for f in rec["flags"]], "evidence"))
            covered = e > 0
            flagged += int(covered.any())
            xs.append(e[covered])
            ys.append(np.asarray(item.tags, float)[covered])
        parts.setdefault((source, train), []).append((np.concatenate(xs), np.concatenate(ys), flagged))
    knots = {}
    for source in sorted({s for s, _t in parts}):
        train = (source, True) in parts
        chosen = parts[(source, train)]
        x, y = np.concatenate([p[0] for p in chosen]), np.concatenate([p[1] for p in chosen])
        flagged = sum(p[2] for p in chosen)
        share = 1 if train else every
        counts = {"words": int(len(x)), "sentences": flagged, "fitted_on": "train" if train else "dev"}
        if flagged < min_source_sentences / share:  # too few to calibrate: raw evidence (empty curve)
            knots[source] = {"x": [], "y": []} | counts
        elif len(x) >= min_source_words / share:  # fewer: the source uses the pooled curve
            knots[source] = dict(zip(("x", "y"), isotonic(x, y, min_block), strict=True)) | counts
    dev = [p for (_s, train), ps in parts.items() if not train for p in ps]
    x, y = np.concatenate([p[0] for p in dev]), np.concatenate([p[1] for p in dev])
    knots["pooled"] = dict(zip(("x", "y"), isotonic(x, y, min_block), strict=True)) | {"words": int(len(x))}
    return knots


def article_flags(records_dir: Path, articles_dir: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per rated article of the records (`mtcheck eval --articles --records`): its document, and for each of its
    flags the raw evidence and the share of its words that a rater's span covers (what its confidence claims).
    A flag is the unit a person reads: one 170-word decoding loop must not weigh as 170 one-word flags."""
    out = []
    for path in sorted(records_dir.glob("*.articles.jsonl")):
        items = {it.id: it for it in load_articles(articles_dir / f"{path.name.removesuffix('.articles.jsonl')}.jsonl")}
        for line in path.open(encoding="utf-8"):
            rec = json.loads(line)
            item = items[rec["id"]]
            if not item.rated:
                continue
            if rec.get("flag_evidence") is None:
                raise click.ClickException(f"{path}: records without flag evidence: rerun `mtcheck eval --articles`")
            shares = flag_error_shares(*words_on_error(item), ((a, b) for a, b, _s in rec["flags"]))
            points = [(e, w) for e, w in zip(rec["flag_evidence"], shares, strict=True) if w is not None]
            out.append(
                (item.doc, np.asarray([e for e, _w in points], float), np.asarray([w for _e, w in points], float))
            )
    return out


def fit_article_curve(articles: list[tuple[str, np.ndarray, np.ndarray]], min_block: int = MIN_BLOCK) -> dict:
    """Isotonic over the flags of `articles` (`article_flags`), at least `min_block` flags per knot."""
    x = np.concatenate([e for _d, e, _w in articles]) if articles else np.zeros(0)
    y = np.concatenate([w for _d, _e, w in articles]) if articles else np.zeros(0)
    return dict(zip(("x", "y"), isotonic(x, y, min_block), strict=True)) | {"flags": int(len(x))}


def fit_articles(records_dir: Path, articles_dir: Path, model: str, measure_dir: Path | None = None) -> None:
    """The article curve, fitted on the rated articles of `records_dir` and written to the detector's JSON; first
    measured held out: on the rated articles of `measure_dir` (the dev articles, when the curve is fitted on
    train ones), else two-fold by document within `records_dir` (the curve fitted on the even documents judges
    the odd ones' flags and the other way round, so that no MT version of a document judges another)."""
    articles = article_flags(records_dir, articles_dir)
    if not any(len(e) for _d, e, _w in articles):
        raise click.ClickException(f"{records_dir}: no flags in rated articles")
    if measure_dir is not None:
        judged = [(ConfidenceMap(fit_article_curve(articles)), article_flags(measure_dir, articles_dir))]
        how = f"fitted on {records_dir.name}, measured on {measure_dir.name}"
    else:
        docs = sorted({d for d, _e, _w in articles})
        fold = {d: k % 2 for k, d in enumerate(docs)}
        judged = [
            (
                ConfidenceMap(fit_article_curve([a for a in articles if fold[a[0]] != k])),
                [a for a in articles if fold[a[0]] == k],
            )
            for k in (0, 1)
        ]
        how = "two-fold by document"
    raw, calibrated, gold = [], [], []
    for cmap, part in judged:
        for _doc, e, w in part:
            raw += list(e)
            calibrated += [cmap(v) for v in e]
            gold += list(w)
    raw_a, cal_a, gold_a = np.array(raw), np.array(calibrated), np.array(gold)
    click.echo(
        f"article flags held out ({how}): {len(gold)} flags, mean share of their words on a rater's error "
        f"{gold_a.mean():.3f}; ECE {expected_calibration_error(raw_a, gold_a):.3f} (evidence, mean "
        f"{raw_a.mean():.3f}) -> {expected_calibration_error(cal_a, gold_a):.3f} (calibrated, mean {cal_a.mean():.3f})"
    )
    curve = fit_article_curve(articles) | {
        "articles": len(articles),
        "documents": len({d for d, _e, _w in articles}),
        "fitted_on": [
            p.name
            for p in sorted(records_dir.glob("*.articles.jsonl"))
            if any(it.rated for it in load_articles(articles_dir / f"{p.name.removesuffix('.articles.jsonl')}.jsonl"))
        ],
    }
    out = DETECTOR_DIR / f"{model}.json"
    params = json.loads(out.read_text())
    params["article_flag_confidence"] = curve
    out.write_text(json.dumps(params, indent=1))
    click.echo(f"wrote the article confidence curve ({len(curve['x'])} knots) to {out}")


@click.command()
@click.argument("records_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--eval-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option(
    "--articles",
    is_flag=True,
    help="RECORDS_DIR holds article records (`mtcheck eval --articles`): fit the curve for whole articles only.",
)
@click.option(
    "--measure",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="With --articles: article records to measure the curve on (held out), else two-fold by document.",
)
def main(records_dir: Path, eval_dir: Path | None, model: str, articles: bool, measure: Path | None) -> None:
    if articles:
        fit_articles(records_dir, (eval_dir or default_eval_dir()) / "articles", model, measure)
        return
    if eval_dir is None:
        raise click.UsageError("--eval-dir is needed for line records")
    # Held-out check first: every dev word is judged by a curve that never saw it. A source fitted on dev is
    # checked two-fold (curves fitted on even sentences measured on odd ones and the other way round); a source
    # fitted on train lines is measured on all its dev sentences. Then fit on all and ship that.
    halves = [fit(records_dir, eval_dir, every=2, offset=k) for k in (0, 1)]
    knots = fit(records_dir, eval_dir)
    for path in sorted(records_dir.glob("*.records.jsonl")):
        stem = path.name.removesuffix(".records.jsonl")
        if is_train_split(stem):
            continue  # calibration data, not measured
        items = {it.index: it for it in load(eval_dir / f"{stem}.jsonl")}
        raw, cal, gold = [], [], []
        for n, line in enumerate(path.open(encoding="utf-8")):
            half = halves[1 - n % 2]
            cmap = ConfidenceMap(curve_for(half, source_of(stem) or stem))
            rec = json.loads(line)
            e = np.array(token_values(items[rec["index"]].spans, [Flag.from_json(f) for f in rec["flags"]], "evidence"))
            raw += list(e)
            cal += [cmap(v) if v > 0 else 0.0 for v in e]
            gold += items[rec["index"]].tags
        own = knots.get(source_of(stem) or stem, {})
        how = "fitted on train lines" if own.get("fitted_on") == "train" else "two-fold"
        if own.get("x") == []:
            how += f", raw evidence: {own['sentences']} flagged sentences are too few for a curve"
        click.echo(
            f"{stem}: flag ECE on held-out sentences {calibration_error(raw, gold):.3f} (evidence) -> "
            f"{calibration_error(cal, gold):.3f} (calibrated, {how})"
        )
    out = DETECTOR_DIR / f"{model}.json"
    params = json.loads(out.read_text())
    params["flag_confidence"] = knots
    out.write_text(json.dumps(params, indent=1))
    click.echo(f"wrote the confidence curves for {', '.join(knots)} to {out}")


if __name__ == "__main__":
    main()
