"""Train the article head (`mtcheck/detect/article_head.py`) on MT in document context, and choose its
calibration and thresholds on the dev articles.

    python -m mtcheck.training.article_head --synthetic 0 --news-lines 6 --hidden 64 --state-hidden 32

Training data: whole MT documents with MQM error spans, `../shared/eval/articles/mqm21-ted-zhen.train.jsonl`
(WMT21 TED talks, Chinese->English; raters' spans in document order). Each article is read exactly as `check`
reads it (the one pass, the rules, the pooled tagger: `Detector.article_sentences`), cached once per file in
build/cache/. Added to the TED articles: pseudo-articles of WMT22 QE zh-en **news** train lines (`--news-lines`,
word tags), and optionally MLQE-PE post-edits with planted artifacts (`--synthetic`; off by default: on the dev
articles they lowered the word MCC of a head without LM states from 0.23 to 0.13, see docs/results.md). The dev
articles (`mqm23-zhen.dev.jsonl`: news; `enorig.dev.jsonl`: English-original news) choose the Platt calibration
of each output and the thresholds (`choose`), and nothing else.

The score head (`--role article-score`) is trained the same way with human-corrected English added as clean
articles (`--post-edits`: MLQE-PE si-en and ne-en train post-edits, every word OK):

    python -m mtcheck.training.article_head --role article-score --post-edits 160
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
    SCORE_HEAD,
    TAG_HEAD,
    SentenceInputs,
    article_inputs,
    build_head,
    state_rows,
)
from mtcheck.detect.detector import Detector
from mtcheck.detect.profile import DetectorProfile
from mtcheck.evaluate.articles import AnnotatedArticle, ArticleOutcome, article_metrics, load_articles
from mtcheck.evaluate.data import default_eval_dir, sample_items, training_samples
from mtcheck.evaluate.data import load as load_lines
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
HUMAN_FILE = "enorig.dev.jsonl"  # English-original news: the false-alarm set
MAJOR_PRECISION, CRITICAL_PRECISION, MIN_FLAGS = 0.70, 0.85, 20
HUMAN_FLAGS_PER_1K = 3.0  # the head's flags on human news: about one per 330-word article
HUMAN_MAJOR_SHARE = 0.02  # English-original articles with a major flag of the head
SYNTHETIC_SOURCES = ("ro", "et", "ru")
POST_EDIT_SOURCES = ("si", "ne")  # MLQE-PE pairs the tagger never trained on
POST_EDIT = "post-edit"  # `who` of a pseudo-article of human-corrected English: every word OK
NEWS_LINES = "wmt22qe.zh-en"
UNRATED = "unrated"  # an error span from word tags: no severity, no category


class ArticleRows:
    """One file's articles as the head reads them: per article, its input rows, LM state rows, the words' spans
    and their labels (error, major, fluency or style)."""

    def __init__(self, inputs, states, spans, labels, ids, lengths):
        self.inputs: list[np.ndarray] = inputs
        self.states: list[np.ndarray] = states
        self.spans: list[np.ndarray] = spans
        self.labels: list[np.ndarray] = labels
        self.ids: list[str] = ids
        self.lengths: list[np.ndarray] = lengths  # words per scored sentence

    def __len__(self) -> int:
        return len(self.inputs)

    def __add__(self, other: ArticleRows) -> ArticleRows:
        return ArticleRows(
            *(getattr(self, k) + getattr(other, k) for k in ("inputs", "states", "spans", "labels", "ids", "lengths"))
        )


def _labels(item: AnnotatedArticle, spans: list[tuple[int, int]]) -> np.ndarray:
    """Per word: error, major, fluency/style (1 or 0). Articles whose errors are `unrated` (word tags with no
    severity or category: `news_lines_file`) and post-edits (`post_edits_file`) leave major and fluency unknown
    (NaN, masked out of the loss): a post-edit teaches only that human-corrected English is not an error."""
    out = np.zeros((len(spans), len(OUTPUTS)), np.float32)
    if item.who == POST_EDIT or any(e.severity == UNRATED for e in item.errors):
        out[:, 1:] = np.nan
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
    return ArticleRows(
        inputs, states, list(raw["spans"]), list(raw["labels"]), [str(i) for i in raw["ids"]], list(raw["lengths"])
    )


def read_rows(lm: LanguageModel, detector: Detector, path: Path) -> ArticleRows:
    """The head's inputs of every article of a file; what the pass and the tagger give is cached by the
    file's hash, the model, the tagger's weights (not its profile's calibrations and curves, which the head's
    inputs do not read) and the layer."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    tagger = f"w{detector.profile.weights.sha256[:12]}" if detector.profile else "none"
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


def post_edit_runs(eval_dir: Path, src: str, runs: int) -> list[str]:
    """The first `runs` pseudo-articles of one pair's MLQE-PE train post-edits: 15 consecutive sentences, the
    first as the headline, the rest in paragraphs of three (fewer when the file runs out)."""
    with open(eval_dir / f"mlqe-pe.{src}-en.train.jsonl", encoding="utf-8") as f:
        pe = [detokenize(json.loads(line)["pe_tok"]) for line in f if line.strip()]
    chunks = [pe[k * 15 : (k + 1) * 15] for k in range(min(runs, len(pe) // 15))]
    return ["\n\n".join([c[0], *(" ".join(c[i : i + 3]) for i in range(1, 15, 3))]) for c in chunks]


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
    for src, k, text in _post_edit_articles(eval_dir, sources, articles):
        new, planted = plant(text, rng)
        errors = [
            {"start": p.start, "end": p.end, "severity": "major" if p.major else "minor",
             "category": f"Fluency/Synthetic/{p.kind}"}
            for p in planted
        ]  # fmt: skip
        lines.append(json.dumps({"id": f"{src}-{k}", "text": new, "doc": f"{src}-{k}", "who": "synthetic",
                                 "human": False, "errors": errors}))  # fmt: skip
    _write_lines(path, lines)
    return path


def post_edits_file(eval_dir: Path, sources: tuple[str, ...], articles: int) -> Path:
    """Pseudo-articles of human-corrected English, every word OK: the post-edits of the MLQE-PE train splits of
    pairs the tagger never trained on (`POST_EDIT_SOURCES`), 15 consecutive sentences in paragraphs of three;
    `articles` shared evenly between the pairs (rounded up), the first runs of each. Without them the head never
    sees English that a person wrote or fixed labelled clean, and it read English-original news as worse than
    MT (docs/results.md, session 30). Written once to build/cache."""
    path = CACHE_DIR / f"post-edits-{'-'.join(sources)}-{articles}.jsonl"
    if path.exists():
        return path
    lines = [
        json.dumps({"id": f"pe-{src}-{k}", "text": text, "doc": f"pe-{src}-{k}", "who": POST_EDIT, "human": True,
                    "errors": []})
        for src, k, text in _post_edit_articles(eval_dir, sources, articles)
    ]  # fmt: skip
    _write_lines(path, lines)
    return path


def _post_edit_articles(eval_dir: Path, sources: tuple[str, ...], articles: int):
    """(source, index, text) of `articles` post-edit runs shared evenly between the sources (rounded up), the
    first runs of each, source after source."""
    per_source = -(-articles // len(sources))
    for src in sources:
        for k, text in enumerate(post_edit_runs(eval_dir, src, per_source)):
            yield src, k, text


def _write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, "".join(line + "\n" for line in lines))


def news_lines_file(eval_dir: Path, model: str, versions: int, seed: int) -> Path:
    """Pseudo-articles of news MT: the WMT22 QE zh-en train lines (newstest2021, 15 MT systems per source
    sentence, the sources in document order) cut into runs of 15 consecutive source sentences, each sentence
    read from one of its systems (seeded; `versions` pseudo-articles per run), in paragraphs of three; the
    BAD word tags become `unrated` error spans (MQM-derived tags carry no severity). Lines the shipped tagger
    trained on (its seeded sample of this file) are left out, so that its logit reads here as it reads unseen
    text. Written once to build/cache."""
    path = CACHE_DIR / f"news-lines-{NEWS_LINES}-{versions}-{seed}.jsonl"
    if path.exists():
        return path
    source = eval_dir / f"{NEWS_LINES}.train2021news.jsonl"
    items = load_lines(source)
    profile = DetectorProfile.for_model(model)
    sample = training_samples(profile.params).get(NEWS_LINES) if profile is not None else None
    seen = {i.index for i in sample_items(source, sample, profile.params["seed"])} if sample else set()
    systems = 15
    rng = random.Random(seed)
    lines = []
    for run in range(0, len(items) // systems, 15):
        sources = range(run, min(run + 15, len(items) // systems))
        for v in range(versions):
            chosen = []
            for src in sources:
                unseen = [items[src * systems + j] for j in range(systems) if src * systems + j not in seen]
                if unseen:
                    chosen.append(rng.choice(unseen))
            if len(chosen) < 6:
                continue
            text, errors = "", []
            for n, item in enumerate(chosen):
                glue = "" if n == 0 else ("\n\n" if n % 3 == 1 else " ")
                text += glue
                at = len(text)
                for (a, b), bad in zip(item.spans, item.tags, strict=True):
                    if bad:
                        errors.append({"start": at + a, "end": at + b, "severity": UNRATED, "category": ""})
                text += item.text
            lines.append(json.dumps({"id": f"news-{run}-{v}", "text": text, "doc": f"news-{run}",
                                     "who": "mixed", "human": False, "errors": errors}))  # fmt: skip
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
    positive = np.nanmean(labels, 0)
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
                known = ~torch.isnan(y)
                loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
                    z, torch.nan_to_num(y), weight=known.float(), pos_weight=pos_weight, reduction="sum"
                ) / known.sum().clamp(min=1)
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


def choose(rows: ArticleRows, logits: list[np.ndarray], human: ArticleRows, human_logits: list[np.ndarray]):
    """Platt per output and the thresholds, on the dev articles (MT with raters' spans, and English-original
    news for false alarms); and the dev figures behind them:
    - word: the P(error) from which the report tags a word BAD, the one with the best word MCC against all errors;
    - flag: the least P(error), not below `word`, at which the head raises at most `HUMAN_FLAGS_PER_1K` flags per
      1,000 words of English-original news. Measured: the head rates human news much as it rates MT (at the
      word threshold it marks a quarter of the words of both), so flags for a person need a far stricter bar
      than word tags;
    - major / critical: the least P(major) over a flag's words at which at least 70% / 85% of the dev flags
      that reach it lie on a rater's major error (over at least 20 flags), and at most 2% of the English-original
      articles have a flag that reaches it (unreachable when no threshold does)."""
    z = np.concatenate(logits)
    y = np.concatenate(rows.labels)
    calib = {name: fit_platt(z[:, k], y[:, k]) for k, name in enumerate(OUTPUTS)}
    p_err = platt(z[:, 0], calib["error"])
    grid = np.round(np.arange(0.20, 0.96, 0.01), 2)
    by_threshold = {float(t): mcc(list(p_err >= t), list(y[:, 0] > 0)) for t in grid}
    word = max(by_threshold, key=by_threshold.get)
    human_p = [platt(zs[:, 0], calib["error"]) for zs in human_logits]
    human_words = sum(len(p) for p in human_p)

    def human_rate(t: float) -> float:
        return 1000 * sum(len(flag_runs(p, t)) for p in human_p) / max(1, human_words)

    # none within the grid: the head raises no flags (2.0 is never reached), its word tags and scores stay
    flag = next((float(t) for t in grid if t >= word and human_rate(t) <= HUMAN_FLAGS_PER_1K), 2.0)
    # the flags at that threshold, each with its mean P(major) and whether a rater's major error lies under it
    flags = []
    for zs, ys in zip(logits, rows.labels, strict=True):
        pe, pm = platt(zs[:, 0], calib["error"]), platt(zs[:, 1], calib["major"])
        for a, b in flag_runs(pe, flag):
            flags.append((float(pm[a:b].mean()), bool(ys[a:b, 1].any()), bool(ys[a:b, 0].any())))
    # per human article, the highest mean P(major) of its flags: a major flag there is a false alarm
    human_major = [
        max((float(platt(zs[:, 1], calib["major"])[a:b].mean()) for a, b in flag_runs(p, flag)), default=0.0)
        for zs, p in zip(human_logits, human_p, strict=True)
    ]
    ladder = {}
    for name, target in (("major", MAJOR_PRECISION), ("critical", CRITICAL_PRECISION)):
        ladder[name] = 2.0  # unreachable: no flag of the head gets that severity
        for t in np.round(np.arange(0.30, 1.0, 0.01), 2):
            above = [hit for pm, hit, _any in flags if pm >= t]
            false_alarms = float(np.mean([m >= t for m in human_major])) if human_major else 0.0
            if len(above) >= MIN_FLAGS and np.mean(above) >= target and false_alarms <= HUMAN_MAJOR_SHARE:
                ladder[name] = float(t)
                break
    ladder["critical"] = max(ladder["critical"], ladder["major"])
    words = list(p_err >= word)
    figures = {
        "word_mcc_vs_error_at_word": round(by_threshold[word], 4),
        "word_mcc_vs_major_at_word": round(mcc(words, list(y[:, 1] > 0)), 4),
        "word_mcc_vs_fluency_at_word": round(mcc(words, list(y[:, 2] > 0)), 4),
        "words_tagged_share": round(float(np.mean(words)), 4),
        "human_words_tagged_share": round(float(np.mean(np.concatenate(human_p) >= word)), 4) if human_words else None,
        "flags": len(flags),
        "flags_per_1k_words": round(1000 * len(flags) / max(1, len(p_err)), 2),
        "human_flags_per_1k_words": round(human_rate(flag), 2),
        "flag_precision_on_error": round(float(np.mean([h for _p, _m, h in flags])), 4) if flags else None,
        "flag_precision_on_major": round(float(np.mean([m for _p, m, _h in flags])), 4) if flags else None,
        "major_flags": sum(1 for pm, _m, _h in flags if pm >= ladder["major"]),
        "critical_flags": sum(1 for pm, _m, _h in flags if pm >= ladder["critical"]),
        "human_articles_with_major": round(float(np.mean([m >= ladder["major"] for m in human_major])), 4)
        if human_major
        else None,
    }
    return calib, {"word": word, "flag": flag, **ladder}, figures


def dev_metrics(items: list[AnnotatedArticle], rows: ArticleRows, logits: list[np.ndarray], calib, thresholds):
    """The article harness's figures (`evaluate.articles.article_metrics`) for the head alone, from the cached
    pass: its flags (runs of words at the flag threshold, graded by the ladder) and each sentence's mean
    P(error). The rules and edit gains add flags in `check`; `mtcheck eval --articles` measures the whole."""
    by_id = {r: k for k, r in enumerate(rows.ids)}
    outcomes = []
    for it in items:
        k = by_id[it.id]
        spans, z = rows.spans[k], logits[k]
        pe, pm = platt(z[:, 0], calib["error"]), platt(z[:, 1], calib["major"])
        flags = []
        for a, b in flag_runs(pe, thresholds["flag"]):
            m = float(pm[a:b].mean())
            sev = "critical" if m >= thresholds["critical"] else "major" if m >= thresholds["major"] else "minor"
            flags.append((int(spans[a][0]), int(spans[b - 1][1]), sev))
        word_bad, at, segment = [], 0, []
        for n in rows.lengths[k]:
            mean = float(pe[at : at + int(n)].mean())
            segment.append(mean)
            word_bad += [(int(x), int(y), mean) for x, y in spans[at : at + int(n)]]
            at += int(n)
        bad = float(np.mean(segment)) if segment else None
        tagged = tuple((int(x), int(y)) for (x, y), p in zip(spans, pe, strict=True) if p >= thresholds["word"])
        outcomes.append(ArticleOutcome(tuple(flags), tuple(word_bad), None, bad, "accept", 0.0, tagged))
    return article_metrics(items, outcomes)


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
@click.option("--hidden", default=64, show_default=True)
@click.option("--state-hidden", default=32, show_default=True)
@click.option("--context", default=5, show_default=True, help="Words the head's convolution mixes (odd).")
@click.option(
    "--synthetic",
    default=0,
    show_default=True,
    help="Pseudo-articles of MLQE-PE train post-edits with planted artifacts added to the training data (0: none).",
)
@click.option(
    "--news-lines",
    default=6,
    show_default=True,
    help="Pseudo-articles per run of 15 WMT22 QE zh-en train sources (news MT, word tags) added (0: none).",
)
@click.option(
    "--post-edits",
    default=0,
    show_default=True,
    help="Pseudo-articles of MLQE-PE si-en/ne-en train post-edits, every word OK, added (0: none).",
)
@click.option(
    "--role",
    type=click.Choice([TAG_HEAD, SCORE_HEAD]),
    default=TAG_HEAD,
    show_default=True,
    help=f"{TAG_HEAD}: the head of the word tags and flags; {SCORE_HEAD}: the head of the article's score against "
    "human English (trained with --post-edits).",
)
@click.option("--cache-only", is_flag=True, help="Only read and cache the data files.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DETECTOR_DIR,
    show_default=True,
    help="Where the head's profile and weights go (another folder: a candidate to compare before shipping it).",
)
def main(
    model,
    articles_dir,
    layer,
    epochs,
    seed,
    hidden,
    state_hidden,
    context,
    synthetic,
    news_lines,
    post_edits,
    role,
    cache_only,
    out_dir,
) -> None:
    lm = LanguageModel(model)
    detector = Detector(lm, use_article_head=False)
    detector.article_layer = layer
    train_path, dev_path, human_path = articles_dir / TRAIN_FILE, articles_dir / DEV_FILE, articles_dir / HUMAN_FILE
    train = read_rows(lm, detector, train_path)
    dev = read_rows(lm, detector, dev_path)
    human = read_rows(lm, detector, human_path)
    synthetic_path = synthetic_file(articles_dir.parent, SYNTHETIC_SOURCES, synthetic, seed) if synthetic else None
    news_path = news_lines_file(articles_dir.parent, model, news_lines, seed) if news_lines else None
    post_edits_path = post_edits_file(articles_dir.parent, POST_EDIT_SOURCES, post_edits) if post_edits else None
    # pseudo-articles added to the TED articles, per file
    added = {
        path: read_rows(lm, detector, path) for path in (synthetic_path, news_path, post_edits_path) if path is not None
    }
    for extra in added.values():
        train = train + extra
    synthetic_articles = len(added[synthetic_path]) if synthetic_path else 0
    news_articles = len(added[news_path]) if news_path else 0
    post_edit_articles = len(added[post_edits_path]) if post_edits_path else 0
    if cache_only:
        return
    net = train_head(train, epochs, seed, hidden, state_hidden, context)
    dev_logits = raw_logits(net, dev)
    calib, thresholds, figures = choose(dev, dev_logits, human, raw_logits(net, human))
    click.echo(dev_metrics(load_articles(dev_path), dev, dev_logits, calib, thresholds).table(), err=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{model}.{role}.safetensors"
    sha = save(net, weights)
    what = {
        TAG_HEAD: "article head: P(error), P(major), P(fluency/style) per word of a whole article",
        SCORE_HEAD: "score head: P(error) per word of a whole article, human-corrected English read as clean; "
        "the article's expected words in error per sentence is the gate's score",
    }
    profile = {
        "what": what[role],
        "role": role,
        "command": "python -m mtcheck.training.article_head "
        f"--layer {layer} --epochs {epochs} --seed {seed} --hidden {hidden} --state-hidden {state_hidden} "
        f"--context {context} --synthetic {synthetic} --news-lines {news_lines} --post-edits {post_edits} "
        f"--role {role}",
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
            "articles": len(train) - synthetic_articles - news_articles - post_edit_articles,
            "words": int(sum(len(x) for x in train.inputs)),  # the TED articles and what is added below
            "synthetic": None
            if synthetic_path is None
            else {
                "file": synthetic_path.name,
                "sha256": hashlib.sha256(synthetic_path.read_bytes()).hexdigest(),
                "articles": synthetic_articles,
                "sources": [f"mlqe-pe.{s}-en.train.jsonl (pe_tok)" for s in SYNTHETIC_SOURCES],
            },
            "news_lines": None
            if news_path is None
            else {
                "file": news_path.name,
                "from": f"{NEWS_LINES}.train2021news.jsonl (lines the tagger trained on left out)",
                "sha256": hashlib.sha256(news_path.read_bytes()).hexdigest(),
                "articles": news_articles,
            },
            "post_edits": None
            if post_edits_path is None
            else {
                "file": post_edits_path.name,
                "from": [f"mlqe-pe.{s}-en.train.jsonl (pe_tok)" for s in POST_EDIT_SOURCES],
                "sha256": hashlib.sha256(post_edits_path.read_bytes()).hexdigest(),
                "articles": post_edit_articles,
            },
        },  # fmt: skip
        "dev": {
            "file": DEV_FILE,
            "sha256": hashlib.sha256(dev_path.read_bytes()).hexdigest(),
            "articles": len(dev),
            "words": int(sum(len(x) for x in dev.inputs)),
            "human": {
                "file": HUMAN_FILE,
                "sha256": hashlib.sha256(human_path.read_bytes()).hexdigest(),
                "articles": len(human),
            },
        },  # fmt: skip
        "platt": {k: [round(float(v), 6) for v in ab] for k, ab in calib.items()},
        "thresholds": thresholds,
        "dev_figures": figures,
    }
    atomic_write(out_dir / f"{model}.{role}.json", json.dumps(profile, indent=1) + "\n")
    click.echo(json.dumps({"thresholds": thresholds, **figures}, indent=1))


if __name__ == "__main__":
    main()
