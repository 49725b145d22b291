"""Train the word-level detector on the annotated MT of ../shared/eval (target side only).

    python -m mtcheck.detecting.train [--per-file 2500] [--seed 13]

Training data: a seeded sample of each *.train.jsonl file. The dev files choose the decision threshold and
the calibration (Platt scaling) and nothing else; test splits are never seen. The result is a small MLP
written to models/detector/<model>.json with the feature statistics, the threshold, the data hashes and the
dev figures, so that a run is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import random
import time
from pathlib import Path

import click
import numpy as np

from ..evaldata import EvalItem, load
from ..modelstore import MANIFEST_PATH
from ..reading import line_article
from ..scoring import LanguageModel, TokenScore
from ..unigram import UnigramTable
from .features import FEATURE_NAMES, word_features
from .learned import DETECTOR_DIR, MLP
from .rules import run_rules

CACHE_DIR = MANIFEST_PATH.parent.parent / "build" / "cache"
ARTICLE_PRECISION = 0.6  # pooled dev precision a learned flag needs on its own in an article
DEFAULT_EVAL = Path(__file__).resolve().parents[3] / "shared" / "eval"
# The four language pairs with targets first; si-en and ne-en (60% BAD, very poor MT) are learned from too.
TRAIN_FILES = ("mlqe-pe.ro-en", "mlqe-pe.et-en", "mlqe-pe.ru-en", "wmt22qe.zh-en", "mlqe-pe.si-en", "mlqe-pe.ne-en")


def _file(eval_dir: Path, stem: str, split: str) -> Path:
    if stem.startswith("wmt22qe"):
        return eval_dir / f"{stem}.{'train2021news' if split == 'train' else 'dev2022'}.jsonl"
    return eval_dir / f"{stem}.{split}.jsonl"


def scored_items(lm: LanguageModel, path: Path, sample: int | None, seed: int) -> tuple[list[EvalItem], list]:
    """Items of a file (a seeded sample) with their LM token scores, cached on disk by content hash."""
    items = load(path)
    if sample and sample < len(items):
        items = random.Random(seed).sample(items, sample)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cache = CACHE_DIR / f"{path.stem}-{digest}-{lm.name}-{sample}-{seed}.pkl"
    if cache.exists():
        return items, pickle.loads(cache.read_bytes())
    scores: list[list[TokenScore]] = []
    started = time.time()
    for lo in range(0, len(items), 128):
        scores += lm.score_many([it.text for it in items[lo : lo + 128]])
        click.echo(f"  {path.name}: {min(lo + 128, len(items))}/{len(items)} ({time.time() - started:.0f} s)", err=True)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(scores))
    return items, scores


def matrix(
    items: list[EvalItem], scores: list, unigram: UnigramTable | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and the sentence index of every MT token."""
    xs, ys, sid = [], [], []
    for n, (item, toks) in enumerate(zip(items, scores, strict=True)):
        hits = run_rules(line_article(item.text, item.index, "eval"))
        xs.append(word_features(item.text, item.spans, toks, unigram, hits))
        ys.append(np.asarray(item.tags, np.float32))
        sid.append(np.full(len(item.spans), n))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(sid)


def train_mlp(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 20, hidden: int = 128) -> dict:
    import torch

    torch.manual_seed(seed)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xt = torch.tensor((x - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    model = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden // 2),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden // 2, 1),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for lo in range(0, len(xt), 512):
            idx = order[lo : lo + 512]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xt[idx])[:, 0], yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        click.echo(f"  epoch {epoch + 1}: loss {total / len(xt):.4f}", err=True)
    layers = [
        (m.weight.detach().numpy().tolist(), m.bias.detach().numpy().tolist())
        for m in model
        if isinstance(m, torch.nn.Linear)
    ]
    return {"mean": mean.tolist(), "std": std.tolist(), "layers": layers}


def fit_platt(logits: np.ndarray, y: np.ndarray) -> list[float]:
    """Logistic calibration of the logits on dev (two parameters, Newton steps)."""
    a, b = 1.0, 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a * logits + b)))
        g = np.array([np.sum((p - y) * logits), np.sum(p - y)])
        w = p * (1 - p)
        h = np.array([[np.sum(w * logits * logits), np.sum(w * logits)], [np.sum(w * logits), np.sum(w)]]) + 1e-6
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-6:
            break
    return [float(a), float(b)]


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (p >= lo) & (p < hi if hi < 1 else p <= hi)
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(total)


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--eval-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=DEFAULT_EVAL)
@click.option("--per-file", default=2500, show_default=True, help="Training sentences sampled per train file.")
@click.option("--seed", default=13, show_default=True)
@click.option("--cache-only", is_flag=True, help="Only score and cache the data (long; resumable).")
@click.option(
    "--files",
    default=",".join(TRAIN_FILES),
    show_default=True,
    help="Comma-separated data sets (train split for training, dev split for threshold/calibration).",
)
def main(model: str, eval_dir: Path, per_file: int, seed: int, cache_only: bool, files: str) -> None:
    from ..evaluating import mcc

    started = time.time()
    lm = LanguageModel(model)
    unigram = UnigramTable.load(lm.name)
    train_x, train_y, hashes = [], [], {}
    dev = {}
    stems = [f.strip() for f in files.split(",") if f.strip()]
    for stem in stems:
        for split in ("train", "dev"):
            path = _file(eval_dir, stem, split)
            hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
            items, scores = scored_items(lm, path, per_file if split == "train" else None, seed)
            if cache_only:
                continue
            x, y, sid = matrix(items, scores, unigram)
            if split == "train":
                train_x.append(x)
                train_y.append(y)
            else:
                dev[stem] = (x, y, sid, items)
    if cache_only:
        click.echo(f"cached in {time.time() - started:.0f} s")
        return
    x, y = np.concatenate(train_x), np.concatenate(train_y)
    click.echo(f"training on {len(y)} words ({y.mean():.1%} BAD), {x.shape[1]} features", err=True)
    params = train_mlp(x, y, seed)
    mlp = MLP(params)
    # Calibration and threshold: chosen on the dev splits only.
    dev_logits = {k: mlp.logits(v[0]) for k, v in dev.items()}
    all_logits = np.concatenate(list(dev_logits.values()))
    all_y = np.concatenate([v[1] for v in dev.values()])
    params["platt"] = fit_platt(all_logits, all_y)
    mlp = MLP(params)
    dev_p = {k: mlp.proba(v[0]) for k, v in dev.items()}
    targets = [k for k in dev if not k.startswith(("mlqe-pe.si", "mlqe-pe.ne"))]
    best = max(
        np.arange(0.1, 0.9, 0.02),
        key=lambda t: np.mean([mcc(list(dev_p[k] >= t), list(dev[k][1] > 0)) for k in targets]),
    )
    # Articles are mostly well-formed text: there a learned flag on its own must be right more often than not.
    pooled_p = np.concatenate([dev_p[k] for k in targets])
    pooled_y = np.concatenate([dev[k][1] for k in targets]) > 0
    article_threshold = next(
        (round(float(t), 2) for t in np.arange(0.3, 0.99, 0.01) if pooled_y[pooled_p >= t].mean() >= ARTICLE_PRECISION),
        0.99,
    )
    figures = {}
    for k, (_xk, yk, _sid, _items) in dev.items():
        pk = dev_p[k]
        figures[k] = {
            "mcc": round(mcc(list(pk >= best), list(yk > 0)), 4),
            "ece": round(ece(pk, yk), 4),
            "bad_rate": round(float(yk.mean()), 4),
        }
        click.echo(f"  dev {k}: MCC {figures[k]['mcc']:.3f} ECE {figures[k]['ece']:.3f}", err=True)
    params.update(
        {
            "features": list(FEATURE_NAMES),
            "threshold": round(float(best), 3),
            "article_threshold": round(article_threshold, 3),
            "article_precision": ARTICLE_PRECISION,
            "model": lm.name,
            "model_sha256": lm.sha256,
            "seed": seed,
            "per_file": per_file,
            "train_words": int(len(y)),
            "data_sha256": hashes,
            "dev": figures,
            "trained_seconds": round(time.time() - started),
            "command": f"python -m mtcheck.detecting.train --model {model} --per-file {per_file} --seed {seed} "
            f"--files {','.join(stems)}",
        }
    )
    DETECTOR_DIR.mkdir(parents=True, exist_ok=True)
    out = DETECTOR_DIR / f"{lm.name}.json"
    out.write_text(json.dumps(params))
    click.echo(f"wrote {out} (threshold {best:.2f}) in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
