"""Train the article head (`mtcheck/detect/article_head.py`) on MT in document context, and choose its
calibration and thresholds on the dev articles.

    python -m mtcheck.training.article_head [--epochs 6] [--seed 13] [--layer 20]

Training data: whole MT documents with MQM error spans, `../shared/eval/articles/mqm21-ted-zhen.train.jsonl`
(WMT21 TED talks, Chinese->English; raters' spans in document order). Each article is read exactly as `check`
reads it (the one pass, the rules, the pooled tagger: `Detector.article_sentences`), cached once per file in
build/cache/. The dev articles (`mqm23-zhen.dev.jsonl`: news) choose the Platt calibration of each output and
the thresholds, and nothing else:
- flag: the P(error) from which words become a flag, the one with the best word MCC against all errors;
- major / critical: the least P(major) over a flag's words at which at least 70% / 85% of the dev flags that
  reach it lie on a rater's major error (measured over at least 20 flags; none when no threshold reaches it).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

import click
import numpy as np

from mtcheck.core.files import atomic_write
from mtcheck.core.metrics import fit_platt, mcc, platt
from mtcheck.core.text import detokenize as join_tokens
from mtcheck.core.text import unescape_tokens
from mtcheck.detect.article_head import (
    DOC_FEATURES,
    OUTPUTS,
    SentenceInputs,
    article_inputs,
    build_head,
    state_rows,
)
from mtcheck.detect.detector import Detector
from mtcheck.evaluate.articles import AnnotatedArticle, load_articles
from mtcheck.evaluate.data import default_eval_dir
from mtcheck.lm.model import LanguageModel
from mtcheck.models import DETECTOR_DIR, MODELS_DIR
from mtcheck.reading import feed_item_article
from mtcheck.signals.features import FEATURE_NAMES
from mtcheck.training.artifacts import plant
from mtcheck.training.options import model_option

CACHE_DIR = MODELS_DIR.parent / "build" / "cache"
ARTICLES_DIR = default_eval_dir() / "articles"
TRAIN_FILE = "mqm21-ted-zhen.train.jsonl"
DEV_FILE = "mqm23-zhen.dev.jsonl"
MAJOR_PRECISION, CRITICAL_PRECISION, MIN_FLAGS = 0.70, 0.85, 20
SYNTHETIC_SOURCES = ("ro", "et", "ru")


class ArticleRows:
    """One file's articles as the head reads them: per article, its input rows, LM state rows, the words' spans
    and their labels (error, major, fluency or style)."""

    def __init__(self, inputs, states, spans, labels, ids):
        self.inputs: list[np.ndarray] = inputs
        self.states: list[np.ndarray] = states
        self.spans: list[np.ndarray] = spans
        self.labels: list[np.ndarray] = labels
        self.ids: list[str] = ids

    def __len__(self) -> int:
        return len(self.inputs)

    def __add__(self, other: ArticleRows) -> ArticleRows:
        return ArticleRows(
            *(getattr(self, k) + getattr(other, k) for k in ("inputs", "states", "spans", "labels", "ids"))
        )


def _labels(item: AnnotatedArticle, spans: list[tuple[int, int]]) -> np.ndarray:
    out = np.zeros((len(spans), len(OUTPUTS)), np.float32)
    for e in item.errors:
        for i, (a, b) in enumerate(spans):
            if a < e.end and b > e.start:
                out[i, 0] = 1
                out[i, 1] = max(out[i, 1], e.severity == "major")
                out[i, 2] = max(out[i, 2], e.fluency_or_style)
    return out


_RAW = ("texts", "ids", "spans", "lengths", "logits", "features", "states", "labels")


def rows_from_raw(raw: dict[str, list]) -> ArticleRows:
    """The head's input rows, rebuilt from what the LM pass and the tagger gave per sentence (the cache keeps
    those, so that a change to the document features needs no new pass)."""
    inputs, states = [], []
    for text, spans, lengths, logits, feats, st in zip(
        *(raw[k] for k in ("texts", "spans", "lengths", "logits", "features", "states")), strict=True
    ):
        sentences, at = [], 0
        for n in lengths:
            part = slice(at, at + int(n))
            sentences.append(SentenceInputs([tuple(x) for x in spans[part]], logits[part], feats[part], st[part]))
            at += int(n)
        inputs.append(article_inputs(str(text), sentences))
        states.append(st)
    return ArticleRows(inputs, states, list(raw["spans"]), list(raw["labels"]), [str(i) for i in raw["ids"]])


def read_rows(lm: LanguageModel, detector: Detector, path: Path) -> ArticleRows:
    """The head's inputs of every article of a file; what the pass and the tagger give is cached by the
    file's hash, the model, the tagger's profile and the layer."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    tagger = detector.profile.sha256[:12] if detector.profile else "none"
    cache = CACHE_DIR / f"article-raw-{path.stem}-{digest}-{lm.name}-{tagger}-L{detector.article_layer}.npz"
    if cache.exists():
        data = np.load(cache, allow_pickle=True)
        return rows_from_raw({k: list(data[k]) for k in _RAW})
    items = load_articles(path)
    raw: dict[str, list] = {k: [] for k in _RAW}
    started = time.time()
    for n, item in enumerate(items):
        article = feed_item_article({"id": item.id, "text": item.text}, f"{path.name}#{n + 1}", str(n))
        segs = [s for s in article.segments if s.scored]
        passed = lm.score_units(
            [article.segment_text(s) for s in segs], [s.start for s in segs], detector.pass_layers,
            [article.text] * len(segs),
        )  # fmt: skip
        view = passed.article(range(len(segs)))
        sentences = [s for s in detector.article_sentences([article], [view])[0] if len(s.spans)]
        word_spans = [sp for s in sentences for sp in s.spans]
        raw["texts"].append(article.text)
        raw["ids"].append(item.id)
        raw["spans"].append(np.asarray(word_spans, np.int32).reshape(-1, 2))
        raw["lengths"].append(np.asarray([len(s.spans) for s in sentences], np.int32))
        raw["logits"].append(np.concatenate([s.logits for s in sentences]) if sentences else np.zeros(0, np.float32))
        raw["features"].append(
            np.concatenate([s.features for s in sentences]) if sentences else np.zeros((0, len(FEATURE_NAMES)))
        )
        raw["states"].append(state_rows(sentences).astype(np.float16))
        raw["labels"].append(_labels(item, word_spans))
        if n % 20 == 0:
            click.echo(f"  {path.name}: {n + 1}/{len(items)} articles ({time.time() - started:.0f} s)", err=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **{k: _objects(v) for k, v in raw.items()})
    tmp.replace(cache)
    return rows_from_raw(raw)


def _objects(values: list) -> np.ndarray:
    """A 1-D object array of arrays of different lengths (np.array would try to stack equal ones)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def detokenize(tokens: str) -> str:
    """Moses-tokenised English (a post-edit's `pe_tok`) as plain text."""
    return join_tokens(unescape_tokens(tokens.split()))[0]


def synthetic_file(eval_dir: Path, sources: tuple[str, ...], articles: int, seed: int) -> Path:
    """Pseudo-articles of human English (the post-edits of the MLQE-PE train splits, 15 consecutive sentences
    in paragraphs of three) with MT artifacts planted by `artifacts.plant` (seeded), written once as an
    annotated-articles JSONL in build/cache (each planted span an error: major for the kinds a rater would
    call major)."""
    rng = random.Random(seed)
    path = CACHE_DIR / f"synthetic-{'-'.join(sources)}-{articles}-{seed}.jsonl"
    if path.exists():
        return path
    lines = []
    per_source = -(-articles // len(sources))
    for src in sources:
        with open(eval_dir / f"mlqe-pe.{src}-en.train.jsonl", encoding="utf-8") as f:
            pe = [detokenize(json.loads(line)["pe_tok"]) for line in f if line.strip()]
        for k in range(per_source):
            chunk = pe[k * 15 : (k + 1) * 15]
            if len(chunk) < 15:
                break
            paragraphs = [" ".join(chunk[i : i + 3]) for i in range(1, 15, 3)]
            text = "\n\n".join([chunk[0], *paragraphs])
            new, planted = plant(text, rng)
            errors = [
                {"start": p.start, "end": p.end, "severity": "major" if p.major else "minor",
                 "category": f"Fluency/Synthetic/{p.kind}"}
                for p in planted
            ]  # fmt: skip
            lines.append(json.dumps({"id": f"{src}-{k}", "text": new, "doc": f"{src}-{k}", "who": "synthetic",
                                     "human": False, "errors": errors}))  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, "".join(line + "\n" for line in lines))
    return path


def train_head(rows: ArticleRows, epochs: int, seed: int, hidden: int, state_hidden: int, context: int):
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    inputs = np.concatenate(rows.inputs)
    states = np.concatenate(rows.states).astype(np.float32)
    net = build_head(inputs.shape[1], states.shape[1], hidden, state_hidden, context)
    net.mean.copy_(torch.from_numpy(inputs.mean(0)))
    net.std.copy_(torch.from_numpy(inputs.std(0) + 1e-3))
    net.state_mean.copy_(torch.from_numpy(states.mean(0)))
    net.state_std.copy_(torch.from_numpy(states.std(0) + 1e-3))
    labels = np.concatenate(rows.labels)
    positive = labels.mean(0)
    pos_weight = torch.from_numpy(((1 - positive) / np.maximum(positive, 1e-3)) ** 0.5).float()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    # articles are cut into pieces of up to 400 words so that a step sees several documents
    pieces = [(a, lo) for a in range(len(rows)) for lo in range(0, len(rows.inputs[a]), 400)]
    steps = epochs * ((len(pieces) + 7) // 8)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    started = time.time()
    for epoch in range(epochs):
        net.train()
        rng.shuffle(pieces)
        total = 0.0
        for lo in range(0, len(pieces), 8):
            loss = 0.0
            for a, w in pieces[lo : lo + 8]:
                x = torch.from_numpy(rows.inputs[a][w : w + 400])
                s = torch.from_numpy(rows.states[a][w : w + 400].astype(np.float32))
                y = torch.from_numpy(rows.labels[a][w : w + 400])
                z = net(x, s)
                loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(z, y, pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        click.echo(
            f"  epoch {epoch + 1}: loss {total / max(1, len(pieces)):.4f} ({time.time() - started:.0f} s)", err=True
        )
    net.eval()
    return net


def raw_logits(net, rows: ArticleRows) -> list[np.ndarray]:
    import torch

    with torch.inference_mode():
        return [
            net(torch.from_numpy(x), torch.from_numpy(s.astype(np.float32))).numpy()
            for x, s in zip(rows.inputs, rows.states, strict=True)
        ]


def flag_runs(p: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Runs of consecutive words at or above the threshold, as (first, last + 1) word indices."""
    runs, start = [], None
    for i, v in enumerate([*p, -1.0]):
        if v >= threshold and start is None:
            start = i
        elif v < threshold and start is not None:
            runs.append((start, i))
            start = None
    return runs


def choose(rows: ArticleRows, logits: list[np.ndarray]) -> tuple[dict, dict, dict]:
    """Platt per output, the flag threshold and the major/critical ladder, on the dev articles; and the dev
    figures behind them."""
    z = np.concatenate(logits)
    y = np.concatenate(rows.labels)
    calib = {name: fit_platt(z[:, k], y[:, k]) for k, name in enumerate(OUTPUTS)}
    p_err = platt(z[:, 0], calib["error"])
    grid = np.round(np.arange(0.20, 0.96, 0.01), 2)
    by_threshold = {float(t): mcc(list(p_err >= t), list(y[:, 0] > 0)) for t in grid}
    flag = max(by_threshold, key=by_threshold.get)
    # the flags at that threshold, each with its mean P(major) and whether a rater's major error lies under it
    flags = []
    for zs, ys in zip(logits, rows.labels, strict=True):
        pe, pm = platt(zs[:, 0], calib["error"]), platt(zs[:, 1], calib["major"])
        for a, b in flag_runs(pe, flag):
            flags.append((float(pm[a:b].mean()), bool(ys[a:b, 1].any())))
    ladder = {}
    for name, target in (("major", MAJOR_PRECISION), ("critical", CRITICAL_PRECISION)):
        ladder[name] = 2.0  # unreachable: no flag of the head gets that severity
        for t in np.round(np.arange(0.30, 1.0, 0.01), 2):
            above = [hit for pm, hit in flags if pm >= t]
            if len(above) >= MIN_FLAGS and np.mean(above) >= target:
                ladder[name] = float(t)
                break
    ladder["critical"] = max(ladder["critical"], ladder["major"])
    figures = {
        "word_mcc_vs_error_at_flag": round(by_threshold[flag], 4),
        "word_mcc_vs_major_at_flag": round(mcc(list(p_err >= flag), list(y[:, 1] > 0)), 4),
        "word_mcc_vs_fluency_at_flag": round(mcc(list(p_err >= flag), list(y[:, 2] > 0)), 4),
        "flags": len(flags),
        "flag_precision_on_major": round(float(np.mean([h for _p, h in flags])), 4) if flags else None,
        "major_flags": sum(1 for pm, _h in flags if pm >= ladder["major"]),
        "critical_flags": sum(1 for pm, _h in flags if pm >= ladder["critical"]),
    }
    return calib, {"flag": flag, **ladder}, figures


def save(net, path: Path) -> str:
    from safetensors.torch import save_file

    save_file({k: v.half().contiguous() for k, v in net.state_dict().items()}, str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@click.command()
@model_option
@click.option("--articles-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=ARTICLES_DIR)
@click.option("--layer", default=20, show_default=True, help="The LM layer whose states the head reads.")
@click.option("--epochs", default=6, show_default=True)
@click.option("--seed", default=13, show_default=True)
@click.option("--hidden", default=128, show_default=True)
@click.option("--state-hidden", default=64, show_default=True)
@click.option("--context", default=5, show_default=True, help="Words the head's convolution mixes (odd).")
@click.option(
    "--synthetic",
    default=300,
    show_default=True,
    help="Pseudo-articles of MLQE-PE train post-edits with planted artifacts added to the training data (0: none).",
)
@click.option("--cache-only", is_flag=True, help="Only read and cache the data files.")
def main(model, articles_dir, layer, epochs, seed, hidden, state_hidden, context, synthetic, cache_only) -> None:
    lm = LanguageModel(model)
    detector = Detector(lm, use_article_head=False)
    detector.article_layer = layer
    train_path, dev_path = articles_dir / TRAIN_FILE, articles_dir / DEV_FILE
    train = read_rows(lm, detector, train_path)
    dev = read_rows(lm, detector, dev_path)
    synthetic_path = synthetic_file(articles_dir.parent, SYNTHETIC_SOURCES, synthetic, seed) if synthetic else None
    synthetic_articles = 0
    if synthetic_path is not None:
        planted = read_rows(lm, detector, synthetic_path)
        synthetic_articles = len(planted)
        train = train + planted
    if cache_only:
        return
    net = train_head(train, epochs, seed, hidden, state_hidden, context)
    calib, thresholds, figures = choose(dev, raw_logits(net, dev))
    weights = DETECTOR_DIR / f"{model}.article.safetensors"
    sha = save(net, weights)
    profile = {
        "what": "article head: P(error), P(major), P(fluency/style) per word of a whole article",
        "command": "python -m mtcheck.training.article_head "
        f"--layer {layer} --epochs {epochs} --seed {seed} --hidden {hidden} --state-hidden {state_hidden} "
        f"--context {context} --synthetic {synthetic}",
        "weights": weights.name,
        "weights_sha256": sha,
        "layer": layer,
        "n_inputs": int(train.inputs[0].shape[1]),
        "n_states": int(train.states[0].shape[1]),
        "hidden": hidden,
        "state_hidden": state_hidden,
        "context": context,
        "inputs": ["tagger_logit", *FEATURE_NAMES, *DOC_FEATURES],
        "outputs": list(OUTPUTS),
        "tagger_profile_sha256": detector.profile.sha256 if detector.profile else None,
        "train": {
            "file": TRAIN_FILE,
            "sha256": hashlib.sha256(train_path.read_bytes()).hexdigest(),
            "articles": len(train) - synthetic_articles,
            "words_with_synthetic": int(sum(len(x) for x in train.inputs)),
            "synthetic": None
            if synthetic_path is None
            else {
                "file": synthetic_path.name,
                "sha256": hashlib.sha256(synthetic_path.read_bytes()).hexdigest(),
                "articles": synthetic_articles,
                "sources": [f"mlqe-pe.{s}-en.train.jsonl (pe_tok)" for s in SYNTHETIC_SOURCES],
            },
        },  # fmt: skip
        "dev": {
            "file": DEV_FILE,
            "sha256": hashlib.sha256(dev_path.read_bytes()).hexdigest(),
            "articles": len(dev),
            "words": int(sum(len(x) for x in dev.inputs)),
        },  # fmt: skip
        "platt": {k: [round(float(v), 6) for v in ab] for k, ab in calib.items()},
        "thresholds": thresholds,
        "dev_figures": figures,
    }
    atomic_write(DETECTOR_DIR / f"{model}.article.json", json.dumps(profile, indent=1) + "\n")
    click.echo(json.dumps({"thresholds": thresholds, **figures}, indent=1))


if __name__ == "__main__":
    main()
