"""`mtcheck check`: flag garbled passages, score fluency, write JSON and HTML reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from mtcheck.cli.options import (
    device_option,
    jobs_option,
    model_option,
    precision_option,
    quiet_option,
    rewrite_option,
    source_lang_option,
)
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.files import usable_output_file, usable_output_folder
from mtcheck.pipeline import Checker, Workers, check_inputs, check_line_articles, iter_articles
from mtcheck.reading import read_lines
from mtcheck.report.lines import line_record
from mtcheck.report.writer import ReportWriter


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    default="reports",
    show_default=True,
    help="Report folder; with --lines, a JSONL file or - for stdout (the default there).",
)
@click.option(
    "--lines",
    "lines_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Treat each line of this file as its own segment (MT system output).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl"]),
    default="jsonl",
    show_default=True,
    help="Output format of --lines mode.",
)
@click.option(
    "--corrections/--no-corrections",
    default=True,
    show_default=True,
    help="Propose corrected readings for each flag (the costliest part after detection).",
)
@rewrite_option
@source_lang_option
@model_option
@device_option
@precision_option
@jobs_option
@quiet_option
def check(
    paths: tuple[Path, ...],
    out: str,
    lines_file: Path | None,
    fmt: str,
    corrections: bool,
    rewrite: bool,
    source_lang: str | None,
    model: str | None,
    device: str,
    precision: str,
    jobs: int,
    quiet: bool,
) -> None:
    """Check articles (files or folders of .txt .md .html .json .jsonl) and write a report per article,
    index.html and summary.jsonl under --out.

    Exit status: 0 when every input was checked (flags are findings, not errors), 1 when some input could
    not be read, 2 when the run itself failed.
    """

    settings = {
        "model": model,
        "device": device,
        "corrections": corrections,
        "rewrite": rewrite,
        "source_lang": source_lang,
        "precision": precision,
    }

    def make_checker() -> Checker:
        return Checker(**settings)  # type: ignore[arg-type]

    if lines_file is not None:
        if paths:
            raise click.UsageError("give either PATHS or --lines FILE, not both")
        if jobs > 1:
            raise click.UsageError("--jobs is for articles; --lines already batches the lines in one process")
        _check_lines(lines_file, out if out != "reports" else "-", make_checker, quiet)
        return
    if not paths:
        raise click.UsageError("give at least one file or folder to check (e.g. mtcheck check seeds/)")
    usable_output_folder(Path(out), list(paths))  # before the model loads: a run that cannot write fails first
    writer = ReportWriter(Path(out))
    items = list(iter_articles(paths, exclude=Path(out)))
    workers = (lambda: Workers(jobs, settings)) if jobs > 1 else None
    outcomes = check_inputs(items, make_checker, writer, workers)
    failed = 0
    bar = tqdm(
        outcomes, total=len(items), desc="checking", unit="article", disable=quiet or len(items) < 2, file=sys.stderr
    )
    for outcome in bar:
        if outcome.error is not None:
            failed += 1
            tqdm.write(f"mtcheck: {outcome.error}", file=sys.stderr)
        elif not quiet:
            tqdm.write(_line(outcome.summary), file=sys.stderr)
    writer.finish()
    if not quiet:
        click.echo(
            f"mtcheck: {len(writer.summaries)} checked, {failed} failed; open {Path(out) / 'index.html'}",
            err=True,
        )
    sys.exit(1 if failed else 0)


def _line(summary: dict) -> str:
    fluency = "n/a" if summary["fluency"] is None else f"{summary['fluency']:.0f}"
    return (
        f"{summary['path']}: fluency {fluency}, {summary['flags']} flags "
        f"({summary['critical']} critical, {summary['major']} major, {summary['minor']} minor)"
    )


def _check_lines(lines_file: Path, out: str, make_checker, quiet: bool) -> None:
    if out != "-":
        usable_output_file(Path(out))
    try:
        articles = read_lines(lines_file)
    except InputError as exc:
        raise MtcheckError(str(exc)) from None
    checker = make_checker()
    with tqdm(total=len(articles), desc="lines", unit="line", disable=quiet, file=sys.stderr) as bar:
        reports = check_line_articles(checker, articles, progress=bar.update)
    try:
        stream = sys.stdout if out == "-" else open(out, "w", encoding="utf-8")  # noqa: SIM115
        try:
            for i, report in enumerate(reports):
                stream.write(json.dumps(line_record(report, i), ensure_ascii=False) + "\n")
        finally:
            if stream is not sys.stdout:
                stream.close()
    except OSError as exc:
        raise MtcheckError(f"{out}: cannot write: {exc.strerror or exc}") from None
    if not quiet:
        if out != "-":
            click.echo(f"mtcheck: wrote {len(reports)} lines to {out}", err=True)
        model_signature = checker.lm.signature()
        click.echo(
            f"mtcheck: model {model_signature['name']} sha256 {model_signature['sha256'][:12]}; "
            f"{checker.signature().short()}",
            err=True,
        )
