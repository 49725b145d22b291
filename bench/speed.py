"""Speed of a check on this machine, as ratios to one bare forward pass over the same text, measured side by side
in one run: detection alone and a full check (with corrections) on the seeds and on dev news articles, MT lines
per second, model load time and peak memory.

    .venv/bin/python bench/speed.py [--articles 20] [--lines 300] [--model NAME] [--device auto] [--precision auto]

The bare pass is the model's own forward (fp32, the weights as published: logits for every token, nothing else)
over each article's tokens in windows of the model's window, each token once. The bare pass, detection and the full
check are run one after the other, three times; each figure is the best of its three.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from profile_stages import articles, bare_seconds  # noqa: E402

from mtcheck.evaluate.data import default_eval_dir, load  # noqa: E402
from mtcheck.lm.model import LanguageModel  # noqa: E402
from mtcheck.lm.store import resolve  # noqa: E402
from mtcheck.pipeline import Checker, check_line_articles  # noqa: E402
from mtcheck.reading.formats import line_article  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, repeat: int = 1) -> float:
    """Wall seconds of fn(), the best of `repeat` runs (this machine's timings move by 20-30% between runs)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _model_class(path: str):
    """The model's transformers class (importing its module)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    return MODEL_FOR_CAUSAL_LM_MAPPING[type(AutoConfig.from_pretrained(path))]


ROUNDS = 3


def _interleaved(reference: LanguageModel, checker: Checker, group: list, rounds: int) -> tuple[float, float, float]:
    """The bare pass, detection alone and the full check over the same articles, one after the other, `rounds`
    times; the best of each. This machine's speed drifts by 20-50% over minutes: measured side by side, the three
    see the same machine."""
    texts = [a.text for a in group]
    best = [float("inf")] * 3
    for _ in range(rounds):
        checker.corrector, corrector = None, checker.corrector
        times = [bare_seconds(reference, texts, 1), _timed(lambda: [checker.check(a) for a in group])]
        checker.corrector = corrector
        times.append(_timed(lambda: [checker.check(a) for a in group]))
        best = [min(b, t) for b, t in zip(best, times, strict=True)]
    return best[0], best[1], best[2]


@click.command()
@click.option("--articles", "n_articles", default=20, show_default=True, help="Dev news articles besides the seeds.")
@click.option("--lines", "n_lines", default=300, show_default=True, help="MLQE-PE ro-en dev lines for --lines speed.")
@click.option("--model", default=None)
@click.option("--device", default="auto")
@click.option("--precision", default="auto")
def main(n_articles: int, n_lines: int, model: str | None, device: str, precision: str) -> None:
    resolved = resolve(model)  # installs on first use; not part of the load time below
    # Code first, then the model: transformers imports its Llama code (and with it torch._dynamo and
    # torch.distributed.tensor) lazily, on the first load; that is import time, paid once per process.
    import_s = _timed(lambda: (__import__("torch"), __import__("transformers").AutoModelForCausalLM))
    code_s = _timed(lambda: _model_class(resolved.path))
    load_s = _timed(lambda: LanguageModel(resolved, device=device, precision=precision))
    checker = Checker(model, device, corrections=True, precision=precision)
    lm = checker.lm
    print(
        f"model           {lm.name} sha256 {lm.sha256[:12]} on {lm.device}, {lm.precision}; "
        f"load from the cache {load_s:.2f} s (after importing torch and transformers: {import_s:.2f} s, "
        f"and the model's code: {code_s:.2f} s)"
    )
    reference = LanguageModel(resolved, device=lm.device, precision="fp32")
    docs = articles(n_articles)
    groups = {"seeds": docs[:2], f"{len(docs) - 2} dev articles": docs[2:]}
    checker.check(docs[0])  # warm-up
    for name, group in groups.items():
        if not group:
            continue
        words = sum(len(a.text.split()) for a in group)
        bare, detect, full = _interleaved(reference, checker, group, ROUNDS)
        print(
            f"{name:<15} {words} words: bare pass {bare:.1f} s; detection {detect:.1f} s = {detect / bare:.2f}x; "
            f"full check {full:.1f} s = {full / bare:.2f}x (best of {ROUNDS}, interleaved)"
        )
    path = default_eval_dir() / "mlqe-pe.ro-en.dev.jsonl"
    if n_lines and path.exists():
        lines = [line_article(it.text, i, "ro") for i, it in enumerate(load(path, n_lines))]
        checker.corrector, corrector = None, checker.corrector
        detect = _timed(lambda: check_line_articles(checker, lines))
        checker.corrector = corrector
        full = _timed(lambda: check_line_articles(checker, lines))
        print(
            f"check --lines   {len(lines)} ro-en dev lines: {len(lines) / detect:.1f} lines/s without corrections, "
            f"{len(lines) / full:.1f} lines/s with"
        )
    print(f"peak memory     {peak_rss_mb():.0f} MB (RSS, this process: two copies of the model)")


if __name__ == "__main__":
    main()
