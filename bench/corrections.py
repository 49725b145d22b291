"""Time of the corrections stage on the seed news article (about 1,000 words, 9-10 flags).

    .venv/bin/python bench/corrections.py [--no-rewrite]

Prints: words, flags, seconds for LM scoring, detection and corrections, and suggestions per flag.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.pipeline import Checker  # noqa: E402
from mtcheck.reading import read_file  # noqa: E402


@click.command()
@click.option("--rewrite/--no-rewrite", default=True, show_default=True)
@click.option(
    "--article",
    type=click.Path(exists=True, path_type=Path),
    default=ROOT / "seeds" / "000_00e2884444c43ef8.txt",
    show_default=True,
)
def main(rewrite: bool, article: Path) -> None:
    checker = Checker()
    assert checker.corrector is not None
    checker.corrector.settings.rewrite = rewrite
    art = read_file(article)[0]
    checker.lm.score("Warm-up.")
    t0 = time.perf_counter()
    segments = [s for s in art.segments if s.scored]
    passed = checker.lm.score_units(
        [art.segment_text(s) for s in segments], [s.start for s in segments], (), [art.text] * len(segments)
    )
    scores = passed.article(range(len(segments)))
    t1 = time.perf_counter()
    detection = checker.detector.detect(art, scores)
    t2 = time.perf_counter()
    flags = checker.corrector.suggest(art, detection.flags, scores)
    t3 = time.perf_counter()
    print(f"article      {article.name}: {len(art.text.split())} words, {len(flags)} flags")
    print(f"scoring      {t1 - t0:.1f} s")
    print(f"detection    {t2 - t1:.1f} s")
    print(
        f"corrections  {t3 - t2:.1f} s  (rewrite {'on' if rewrite else 'off'}; "
        f"{sum(len(f.suggestions) for f in flags)} suggestions, "
        f"{sum(len(f.rejected) for f in flags)} rejected by guards)"
    )


if __name__ == "__main__":
    main()
