"""Speed of the default model on this machine: load time, tokens scored per second, check time, memory.

.venv/bin/python bench/speed.py [--model NAME] [--device cpu]
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.lm.model import LanguageModel  # noqa: E402
from mtcheck.lm.store import resolve  # noqa: E402
from mtcheck.pipeline import Checker  # noqa: E402
from mtcheck.reading.formats import read_file  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@click.command()
@click.option("--model", default=None)
@click.option("--device", default="auto")
@click.option("--repeat", default=2, show_default=True, help="Scoring passes per seed (best is reported).")
def main(model: str | None, device: str, repeat: int) -> None:
    import torch

    resolved = resolve(model)  # installs on first use; not part of the load time below
    t0 = time.perf_counter()
    lm = LanguageModel(resolved, device=device)
    load = time.perf_counter() - t0
    print(f"model           {lm.name} sha256 {lm.sha256[:12]} on {lm.device}, torch threads {torch.get_num_threads()}")
    print(f"load (cached)   {load:.2f} s")
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    articles = [read_file(p)[0] for p in seeds]
    lm.score("Warm-up sentence for the model.")
    total_tokens, total_time = 0, 0.0
    for article in articles:
        best = min(_timed(lambda a=article: lm.score(a.text)) for _ in range(repeat))
        n = len(lm.tokenize(article.text)[0])
        total_tokens += n
        total_time += best
        print(f"score           {Path(article.path).name}: {n} tokens in {best:.2f} s = {n / best:.0f} tokens/s")
    print(f"score (all)     {total_tokens / total_time:.0f} tokens/s")
    checker = Checker(model, device)
    for article in articles:
        seconds = _timed(lambda a=article: checker.check(a))
        words = len(article.text.split())
        print(f"check           {Path(article.path).name}: {words} words in {seconds:.2f} s (score + detect + fluency)")
    print(f"peak memory     {peak_rss_mb():.0f} MB (RSS)")


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
