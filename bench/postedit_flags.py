"""False alarms on human-corrected English: the share of MLQE-PE post-edits (`pe_tok`, dev split) that get a
major or critical flag, read as MT lines (`check --lines`) and inside 20-sentence pseudo-articles (`check`).

Target (issue #4): at most 2% of post-edited sentences get a major or critical flag.

    .venv/bin/python bench/postedit_flags.py [--per-pair 200]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.core.codes import Severity  # noqa: E402
from mtcheck.evaluate.data import default_eval_dir, load  # noqa: E402
from mtcheck.pipeline import Checker, check_line_articles  # noqa: E402
from mtcheck.reading.formats import line_article, read_file  # noqa: E402

PAIRS = ("ro", "et", "ru", "ne", "si")


def post_edits(pair: str, n: int) -> list[str]:
    return [it.post_edit or "" for it in load(default_eval_dir() / f"mlqe-pe.{pair}-en.dev.jsonl", n)]


@click.command()
@click.option("--per-pair", default=200, show_default=True)
@click.option("--articles/--no-articles", default=True, show_default=True)
def main(per_pair: int, articles: bool) -> None:
    checker = Checker(corrections=False)
    click.echo(f"settings {checker.settings()['signature']}")
    total = Counter()
    for pair in PAIRS:
        sentences = post_edits(pair, per_pair)
        found = Counter()
        checker.detector.use_source(pair)
        lines = [line_article(s, i, f"pe-{pair}") for i, s in enumerate(sentences)]
        for report in check_line_articles(checker, lines):
            found["lines"] += 1
            found["lines_flagged"] += bool(report.flags_at_least(Severity.MAJOR))
        if articles:
            # articles: pooled calibration (source unknown), the stricter article threshold
            checker.detector.use_source(None)
            tmp = Path(f"/tmp/mtcheck-pe-{pair}.txt")
            for lo in range(0, len(sentences) - 19, 20):
                body = "\n\n".join(" ".join(sentences[lo + i : lo + i + 4]) for i in range(0, 20, 4))
                tmp.write_text(body + "\n", encoding="utf-8")
                report = checker.check(read_file(tmp)[0])
                seg = report.segments
                flagged = {
                    n
                    for f in report.flags_at_least(Severity.MAJOR)
                    for n, s in enumerate(seg)
                    if s.start < f.end and f.start < s.end and s.kind == "sentence"
                }
                found["article_sentences"] += sum(s.kind == "sentence" for s in seg)
                found["article_flagged"] += len(flagged)
        total += found
        click.echo(_row(pair, found))
    click.echo(_row("all", total))


def _row(name: str, c: Counter) -> str:
    line = f"{name:>4}: lines {c['lines_flagged']}/{c['lines']} = {c['lines_flagged'] / max(1, c['lines']):.1%}"
    if c["article_sentences"]:
        line += (
            f"; in articles {c['article_flagged']}/{c['article_sentences']} sentences"
            f" = {c['article_flagged'] / c['article_sentences']:.1%}"
        )
    return line + " with a major or critical flag"


if __name__ == "__main__":
    main()
