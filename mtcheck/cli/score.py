"""`mtcheck score`: per-token surprisal, entropy and rank of articles, as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from mtcheck.cli.options import device_option, model_option, quiet_option
from mtcheck.core.errors import InputError
from mtcheck.core.files import atomic_write
from mtcheck.lm.model import LanguageModel
from mtcheck.pipeline import in_scored_segments, iter_articles
from mtcheck.report.writer import ReportWriter

SCHEMA = "mtcheck.scores/1"


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    default="reports/scores",
    show_default=True,
    help="Folder for <name>.scores.json, or - to print JSON lines on stdout.",
)
@model_option
@device_option
@quiet_option
def score(paths: tuple[Path, ...], out: str, model: str | None, device: str, quiet: bool) -> None:
    """Score every token of the articles with the language model (surprisal in nats, entropy, rank,
    character span). Boilerplate and bylines are context but get no score."""
    lm = LanguageModel(model, device=device)
    namer = ReportWriter(Path(out))
    failed = 0
    items = list(iter_articles(paths))
    for item in tqdm(items, desc="scoring", unit="article", disable=quiet or len(items) < 2, file=sys.stderr):
        if isinstance(item, InputError):
            failed += 1
            tqdm.write(f"mtcheck: {item}", file=sys.stderr)
            continue
        kept = in_scored_segments(item, lm.score(item.text))
        doc = {
            "schema": SCHEMA,
            "article": {"path": item.path, "id": item.id, "sha256": item.sha256, "text": item.text},
            "model": lm.signature(),
            "segments": [{"start": s.start, "end": s.end, "kind": s.kind, "scored": s.scored} for s in item.segments],
            "tokens": [t.to_json() for t in kept],
        }
        if out == "-":
            click.echo(json.dumps(doc, ensure_ascii=False))
        else:
            name = namer.name_for(item.path, item.id)
            atomic_write(Path(out) / f"{name}.scores.json", json.dumps(doc, ensure_ascii=False))
            if not quiet:
                tqdm.write(
                    f"{item.path}: {len(kept)} tokens -> {Path(out) / (name + '.scores.json')}",
                    file=sys.stderr,
                )
    sys.exit(1 if failed else 0)
