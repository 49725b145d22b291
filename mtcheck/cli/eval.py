"""`mtcheck eval`: word- and sentence-level quality of the detector on annotated MT (../shared/eval format)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from mtcheck.cli.options import device_option, model_option, quiet_option
from mtcheck.core.files import atomic_write
from mtcheck.evaluate.data import load, source_of, trained_indices
from mtcheck.evaluate.harness import evaluate
from mtcheck.pipeline import Checker


@click.command("eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--articles",
    "articles_mode",
    is_flag=True,
    help="The files hold whole annotated articles (../shared/eval/articles/): check each as `check` and `gate` do "
    "(article context, source unknown unless --source-lang) and print word, segment, system and article figures.",
)
@click.option("--limit", type=int, default=None, help="Only the first N sentences (articles) of each file.")
@click.option(
    "--docs", type=int, default=None, help="With --articles: every version of the first N documents of each file."
)
@click.option(
    "--corrections/--no-corrections",
    default=False,
    show_default=True,
    help="Also propose corrections and measure chrF/TER of the corrected MT against the post-edits.",
)
@click.option(
    "--source-lang",
    default="auto",
    show_default=True,
    metavar="CODE|auto|none",
    help="Source language for the detector's calibration: auto reads it from the file name (mlqe-pe.ro-en...), "
    "none uses the pooled calibration.",
)
@click.option(
    "--records",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for one JSONL per file: every sentence's predicted and gold tags, fluency and flags.",
)
@click.option(
    "--skip-trained",
    is_flag=True,
    help="Leave out the lines the shipped taggers were trained on (their seeded sample of a train split), so that "
    "train lines they never saw can fit calibration (`python -m mtcheck.training.fit_confidence`).",
)
@model_option
@device_option
@quiet_option
def eval_command(
    files: tuple[Path, ...],
    articles_mode: bool,
    limit: int | None,
    docs: int | None,
    corrections: bool,
    source_lang: str,
    records: Path | None,
    skip_trained: bool,
    model: str | None,
    device: str,
    quiet: bool,
) -> None:
    """Run the detector over each JSONL file (mt_tok, mt_word_tags[, hter, pe_tok]) the way
    `check --lines` does, and print word MCC, F1-BAD/OK, sentence Pearson/Spearman with HTER, the share of
    sentences flagged and the speed. Flagged character spans are mapped onto the mt_tok tokens."""
    checker = Checker(model, device, corrections=corrections)
    click.echo(f"model {checker.lm.name} sha256 {checker.lm.sha256}")
    if articles_mode:
        language = None if source_lang in ("auto", "none") else source_lang
        _eval_articles(checker, files, limit, docs, language, records, quiet)
        return
    for path in files:
        checker.detector.use_source({"auto": source_of(path.name), "none": None}.get(source_lang, source_lang))
        click.echo(f"settings {checker.signature().short()}")
        skip = trained_indices(checker.detector.tagger_params, path) if skip_trained else set()
        total = len([it for it in load(path, limit) if it.index not in skip])
        if skip:
            click.echo(f"{path.name}: {len(skip)} lines the taggers were trained on left out, {total} measured")
        if not total:
            continue
        with tqdm(total=total, desc=path.name, unit="sent", disable=quiet, file=sys.stderr) as bar:
            result, rows = evaluate(checker, path, limit, progress=bar.update, skip=skip)
        if records is not None:
            records.mkdir(parents=True, exist_ok=True)
            out = records / f"{path.stem}.records.jsonl"
            atomic_write(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        click.echo(f"\n{path.name}")
        click.echo(result.table())
        click.echo("  settings:\n" + "\n".join(f"    {line}" for line in checker.signature().long().splitlines()))


def _eval_articles(
    checker: Checker,
    files: tuple[Path, ...],
    limit: int | None,
    docs: int | None,
    source_lang: str | None,
    records: Path | None,
    quiet: bool,
) -> None:
    from dataclasses import asdict

    from mtcheck.evaluate.articles import article_metrics, load_articles, run_articles
    from mtcheck.gate.filters import decide
    from mtcheck.gate.policy import default_policy

    policy = default_policy()
    for path in files:
        items = load_articles(path, limit, docs)
        with tqdm(total=len(items), desc=path.name, unit="article", disable=quiet, file=sys.stderr) as bar:
            outcomes = run_articles(checker, items, lambda r: decide(r, policy)[0], source_lang, bar.update)
        if records is not None:
            records.mkdir(parents=True, exist_ok=True)
            rows = [{"id": it.id, "who": it.who, **asdict(o)} for it, o in zip(items, outcomes, strict=True)]
            atomic_write(
                records / f"{path.stem}.articles.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            )
        click.echo(f"\n{path.name} (articles, source {source_lang or 'unknown'})")
        click.echo(article_metrics(items, outcomes).table())
        click.echo("  settings:\n" + "\n".join(f"    {line}" for line in checker.signature().long().splitlines()))
