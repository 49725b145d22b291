"""`mtcheck apply`: write the corrected article and a change log from a report and its decisions."""

from __future__ import annotations

from pathlib import Path

import click

from mtcheck.core.errors import MtcheckError
from mtcheck.review.apply import apply_to_files
from mtcheck.review.decisions import load_decisions, load_report


@click.command("apply")
@click.argument("report_path", metavar="REPORT.json", type=click.Path(path_type=Path))
@click.option(
    "--decisions",
    "decisions_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Decisions file (default: <name>.decisions.json next to the report; or one exported from the page).",
)
@click.option("--out", "-o", default="corrected", show_default=True, help="Folder for the corrected article and log.")
@click.option(
    "--in-place", is_flag=True, help="Overwrite the original .txt article (the change log still goes to --out)."
)
def apply(report_path: Path, decisions_path: Path | None, out: str, in_place: bool) -> None:
    """Apply accepted and edited readings to the article; rejected and open flags change nothing.

    Writes OUT/<article file>.txt (md, html and feed items: the corrected plain text as OUT/<name>.txt) and
    OUT/<name>.changes.jsonl (one line per applied decision: flag, before, after, offsets). Refuses decisions
    made on another version of the article, and an article file that changed since the check.
    """
    if not report_path.name.endswith(".json") or report_path.name.endswith(".decisions.json"):
        raise MtcheckError(f"{report_path}: give the report's .json file (reports/<name>.json)")
    name = report_path.name[: -len(".json")]
    report = load_report(report_path)
    if decisions_path is None:
        decisions_path = report_path.with_name(f"{name}.decisions.json")
        if not decisions_path.is_file():
            raise MtcheckError(
                f"{decisions_path}: no decisions yet (review with `mtcheck review {report_path.parent}`, "
                "or give --decisions FILE)"
            )
    doc = load_decisions(decisions_path, report)
    try:
        written = apply_to_files(report, name, doc, Path(out), in_place, report_ref=report_path.name)
    except OSError as exc:
        raise MtcheckError(f"cannot write: {exc.strerror or exc} ({getattr(exc, 'filename', '') or out})") from None
    for note in written.notes:
        click.echo(f"mtcheck: note: {note}", err=True)
    for warning in written.result.warnings:
        click.echo(f"mtcheck: warning: {warning}", err=True)
    r = written.result
    click.echo(
        f"mtcheck: applied {len(r.changes)} decision{'s' if len(r.changes) != 1 else ''} "
        f"({r.rejected} rejected, {r.open} open, {len(r.warnings)} skipped) -> {written.corrected}; "
        f"change log {written.log}",
        err=True,
    )
