"""`mtcheck check`: flag garbled passages, score fluency, write JSON and HTML reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from mtcheck.cli.options import device_option, model_option, quiet_option, source_lang_option
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.pipeline import Checker, iter_articles
from mtcheck.reading.formats import decode_bytes, line_article
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
@source_lang_option
@model_option
@device_option
@quiet_option
def check(
    paths: tuple[Path, ...],
    out: str,
    lines_file: Path | None,
    fmt: str,
    source_lang: str | None,
    model: str | None,
    device: str,
    quiet: bool,
) -> None:
    """Check articles (files or folders of .txt .md .html .json .jsonl) and write a report per article,
    index.html and summary.jsonl under --out.

    Exit status: 0 when every input was checked (flags are findings, not errors), 1 when some input could
    not be read, 2 when the run itself failed.
    """
    if lines_file is not None:
        if paths:
            raise click.UsageError("give either PATHS or --lines FILE, not both")
        _check_lines(lines_file, out if out != "reports" else "-", model, device, quiet, source_lang)
        return
    if not paths:
        raise click.UsageError("give at least one file or folder to check (e.g. mtcheck check seeds/)")
    writer = ReportWriter(Path(out))
    failed = 0
    items = list(iter_articles(paths))
    # Read everything first: a run with nothing to check fails fast, without loading the model.
    checker = (
        Checker(model, device, source_lang=source_lang) if any(not isinstance(i, InputError) for i in items) else None
    )
    bar = tqdm(items, desc="checking", unit="article", disable=quiet or len(items) < 2, file=sys.stderr)
    for item in bar:
        if isinstance(item, InputError):
            failed += 1
            writer.fail(item.path, item.cause)
            tqdm.write(f"mtcheck: {item}", file=sys.stderr)
            continue
        try:
            assert checker is not None
            report = checker.check(item)
        except MtcheckError as exc:
            failed += 1
            writer.fail(item.path, str(exc))
            tqdm.write(f"mtcheck: {item.path}: {exc}", file=sys.stderr)
            continue
        summary = writer.write(report)
        if not quiet:
            tqdm.write(_line(summary), file=sys.stderr)
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


def _check_lines(
    lines_file: Path, out: str, model: str | None, device: str, quiet: bool, source_lang: str | None
) -> None:
    try:
        data = lines_file.read_bytes()
    except OSError as exc:
        raise MtcheckError(f"{lines_file}: cannot read: {exc.strerror or exc}") from None
    text, _encoding, _note = decode_bytes(data, str(lines_file))
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    checker = Checker(model, device, source_lang=source_lang)
    articles = [line_article(line, i, str(lines_file)) for i, line in enumerate(lines)]
    results = []
    step = 64
    with tqdm(total=len(articles), desc="lines", unit="line", disable=quiet, file=sys.stderr) as bar:
        for start in range(0, len(articles), step):
            results += checker.check_lines(articles[start : start + step])
            bar.update(min(step, len(articles) - start))
    stream = sys.stdout if out == "-" else open(out, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for i, report in enumerate(results):
            stream.write(json.dumps(line_record(report, i), ensure_ascii=False) + "\n")
        if out != "-" and not quiet:
            click.echo(f"mtcheck: wrote {len(results)} lines to {out}", err=True)
    finally:
        if stream is not sys.stdout:
            stream.close()
    record_model = checker.lm.signature()
    if not quiet:
        click.echo(
            f"mtcheck: model {record_model['name']} sha256 {record_model['sha256'][:12]}; "
            f"{checker.settings()['signature']}",
            err=True,
        )
