"""Where a check spends its time: wall time per stage on the seeds and on dev news articles, beside one bare
forward pass over the same text, measured side by side in one run.

    .venv/bin/python bench/profile_stages.py [--articles 20] [--no-corrections]

(Not `bench/profile.py`: a script of that name hides the standard library's `profile`, which torch imports.)

Each stage is timed by wrapping the function that does it (the product's code is not changed); a stage's time
is its own, less the time of the stages it calls (the LM rescoring an edit inside the corrector counts as
"correction: LM ranking", not twice). The bare pass is the model's own forward (fp32, as published) over each
article's tokens, each token once; a bare pass at the check's own precision is printed beside it.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck import pipeline  # noqa: E402
from mtcheck.correct import corrector, guards, rewrite  # noqa: E402
from mtcheck.detect import detector  # noqa: E402
from mtcheck.evaluate.data import default_eval_dir  # noqa: E402
from mtcheck.lm.fluency import FluencyScorer  # noqa: E402
from mtcheck.lm.model import LanguageModel  # noqa: E402
from mtcheck.lm.units import UnitPass  # noqa: E402
from mtcheck.pipeline import Checker  # noqa: E402
from mtcheck.reading import feed_item_article, read_file  # noqa: E402
from mtcheck.report import html  # noqa: E402
from mtcheck.signals import editgain, tagger  # noqa: E402

# (stage name, object, attribute): the function that does the stage
STAGES = [
    ("LM: the one pass (sentences alone)", LanguageModel, "score_units"),
    ("LM pass over the article (score)", LanguageModel, "score"),
    (None, UnitPass, "window_gains"),  # named by its caller: edit gain's rescoring or the corrector's ranking
    ("edit gain: candidates", editgain.LMSignals, "proposals_many"),
    ("edit gain: judging", editgain.LMSignals, "judged"),
    ("tagger: word features", detector, "word_features"),
    ("tagger: encoder", tagger.Tagger, "predict"),
    ("rules", detector, "run_rules"),
    ("correction: candidates", corrector.Corrector, "_plan"),
    ("correction: choosing", corrector.Corrector, "_ranked"),
    (None, LanguageModel, "score_edits"),  # a window outside the pass (rare)
    ("correction: rewrite generation", rewrite.Rewriter, "rewrite_many"),
    ("correction: embeddings (guard)", guards.Embedder, "similarities"),
    ("correction: meaning guards", corrector.guards, "check"),
    ("fluency roll-up", FluencyScorer, "score"),
    ("report build", pipeline, "build_report"),
    ("detection (rest)", detector.Detector, "detect_many"),
    ("HTML page", html, "render_article"),
]


def bare_seconds(lm: LanguageModel, texts: list[str], runs: int = 2) -> float:
    """One bare forward pass (the model's own forward, logits and all) over each text, in windows of the model's
    window, every token once; the best of `runs` runs."""
    import torch

    lm.model(input_ids=torch.tensor([[lm.prefix_token_id] * 8], device=lm.device))  # warm-up
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for text in texts:
            ids = lm.tokenize(text)[0]
            for lo in range(0, len(ids), lm.window - 1):
                x = torch.tensor([[lm.prefix_token_id, *ids[lo : lo + lm.window - 1]]], device=lm.device)
                with torch.inference_mode():
                    lm.model(input_ids=x)
        best = min(best, time.perf_counter() - start)
    return best


class Timer:
    """Exclusive wall time per stage: a stage's time less that of the stages it calls."""

    def __init__(self) -> None:
        self.own: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list] = []  # per open stage: [its name, children's time]

    def wrap(self, name: str | None, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            called = name or self._lm_rescoring_name()
            self._stack.append([called, 0.0])
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                called, children = self._stack.pop()
                self.own[called] += spent - children
                self.calls[called] += 1
                if self._stack:
                    self._stack[-1][1] += spent

        return timed

    def _lm_rescoring_name(self) -> str:
        inside_detection = any(name.startswith("detection") for name, _t in self._stack)
        return "edit gain: LM rescoring" if inside_detection else "correction: LM ranking"


def install(timer: Timer) -> None:
    for name, owner, attr in STAGES:
        setattr(owner, attr, timer.wrap(name, getattr(owner, attr)))


def articles(n: int) -> list:
    out = [read_file(p)[0] for p in sorted((ROOT / "seeds").glob("*.txt"))]
    path = default_eval_dir() / "articles" / "mqm23-zhen.dev.jsonl"
    if n and path.exists():
        with open(path, encoding="utf-8") as f:
            for i, line in zip(range(n), f, strict=False):
                item = json.loads(line)
                article = feed_item_article({"id": item["id"], "text": item["text"]}, f"{path.name}#{i + 1}", str(i))
                out.append(article)
    return out


@click.command()
@click.option("--articles", "n_articles", default=20, show_default=True, help="Dev news articles after the seeds.")
@click.option("--corrections/--no-corrections", default=True, show_default=True)
def main(n_articles: int, corrections: bool) -> None:
    t0 = time.perf_counter()
    checker = Checker(corrections=corrections)
    load = time.perf_counter() - t0
    docs = articles(n_articles)
    words = sum(len(a.text.split()) for a in docs)
    reference = LanguageModel(checker.lm.resolved, device=checker.lm.device, precision="fp32")
    bare = bare_seconds(reference, [a.text for a in docs])
    bare_own = bare_seconds(checker.lm, [a.text for a in docs])
    timer = Timer()
    install(timer)
    start = time.perf_counter()
    for a in docs:
        report = checker.check(a)
        html.render_article(report)
    total = time.perf_counter() - start
    other = total - sum(timer.own.values())
    click.echo(f"{len(docs)} articles ({len(docs) - 2} dev news + 2 seeds), {words} words; model load {load:.1f} s")
    click.echo(f"settings {checker.signature().short()}\n")
    click.echo(f"{'stage':<40} {'seconds':>8} {'share':>6} {'calls':>6}")
    for name, seconds in sorted(timer.own.items(), key=lambda kv: -kv[1]):
        click.echo(f"{name:<40} {seconds:>8.1f} {seconds / total:>6.1%} {timer.calls[name]:>6}")
    click.echo(f"{'other (Python around the stages)':<40} {other:>8.1f} {other / total:>6.1%}")
    click.echo(f"{'total':<40} {total:>8.1f}")
    click.echo(
        f"\nbare forward pass over the same texts (fp32, the model as published): {bare:.1f} s; the check costs "
        f"{total / bare:.2f}x that ({1000 * total / words:.1f} s per 1,000 words, corrections "
        f"{'on' if corrections else 'off'}); a bare pass at the check's precision ({checker.lm.precision}): "
        f"{bare_own:.1f} s ({total / bare_own:.2f}x)"
    )


if __name__ == "__main__":
    main()
