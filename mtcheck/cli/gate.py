"""`mtcheck gate`: decide accept / quarantine / reject for each item of a feed; `mtcheck find-threshold`."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click

from mtcheck.cli.options import device_option, jobs_option, model_option, quiet_option, rewrite_option
from mtcheck.core.errors import MtcheckError
from mtcheck.core.files import usable_output_folder
from mtcheck.gate import run as gating
from mtcheck.gate.filters import ACCEPT, scores_of
from mtcheck.gate.policy import explain, load_policy
from mtcheck.gate.threshold import SCORES, best, load_labelled, score_value, scored, sweep, table

EXIT_HELP = "Exit status: 0 all items accepted, 1 some quarantined or rejected, 2 the run itself failed."


@click.command(epilog=EXIT_HELP)
@click.argument("input_", metavar="INPUT", required=False)
@click.option("--policy", "policy_file", type=click.Path(path_type=Path), help="Policy TOML (default: built in).")
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Output folder (decisions, reports, audit, state).")
@click.option("--explain", is_flag=True, help="Print the policy in force and its sha256, then exit.")
@click.option(
    "--watch", is_flag=True, help="Keep gating new files as they appear (folder or JSONL file), until Ctrl-C."
)
@click.option("--interval", default=30.0, show_default=True, help="Seconds between polls with --watch.")
@click.option(
    "--corrections/--no-corrections",
    default=False,
    show_default=True,
    help="Also propose corrections in the reports, for major and critical flags (decisions do not change).",
)
@rewrite_option
@model_option
@device_option
@jobs_option
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where the checks run: local (this process; --jobs threads) or ray (Ray actors, each with its own model; "
    "needs pip install 'mtcheck[ray]'). Decisions are written by this process alone either way.",
)
@click.option(
    "--address",
    default=None,
    metavar="ADDRESS",
    help="--engine ray: the Ray cluster to use (auto: the one this machine joined with `ray start`; or the head's "
    "HOST:6379). Default: a local Ray started for this run and stopped after it.",
)
@click.option(
    "--actors",
    type=click.IntRange(1, 4096),
    default=None,
    help="--engine ray: Ray actors (models loaded), each with an equal share of the cluster's CPUs as torch threads. "
    "Default: --jobs when given, else this machine's cores.",
)
@click.option(
    "--gpus-per-actor",
    type=click.FloatRange(0, None),
    default=0.0,
    show_default=True,
    help="--engine ray: GPUs per actor (0.5: two actors share one); above 0 the model runs on the GPU.",
)
@quiet_option
def gate(
    input_: str | None,
    policy_file: Path | None,
    out: Path | None,
    explain: bool,
    watch: bool,
    interval: float,
    corrections: bool,
    rewrite: bool,
    model: str | None,
    device: str,
    jobs: int,
    engine: str,
    address: str | None,
    actors: int | None,
    gpus_per_actor: float,
    quiet: bool,
) -> None:
    """Accept, quarantine or reject each item of INPUT: a folder of article files, a JSONL feed file, or -
    for JSONL on standard input (decided line by line as it arrives).

    Items land in OUT/accepted/, OUT/quarantined/, OUT/rejected/ (files: a copy plus <name>.report.json)
    or OUT/<accepted|quarantined|rejected>.jsonl (feed items, with an "mtcheck" field; reports in
    OUT/reports/). OUT/audit.jsonl records every decision, OUT/state.jsonl what is done: a re-run (or a
    restart after a crash) skips items already decided with the same policy and model.
    """
    policy = load_policy(policy_file)
    if explain:
        click.echo(_explain(policy))
        return
    if not input_ or out is None:
        raise click.UsageError("give INPUT and --out DIR (or --explain)")
    if watch and input_ == "-":
        raise click.UsageError("--watch needs a folder or a JSONL file, not standard input")
    if engine != "ray" and (address is not None or actors is not None or gpus_per_actor):
        raise click.UsageError("--address, --actors and --gpus-per-actor need --engine ray")
    if engine == "ray":
        from mtcheck.gate.ray_engine import import_ray

        import_ray()  # a missing extra: one line before anything is read or created
    if input_ != "-" and not Path(input_).exists():
        raise MtcheckError(f"{input_}: no such file or folder")  # before creating --out or loading anything
    usable_output_folder(out, [Path(input_)] if input_ != "-" else [])
    from mtcheck.lm.store import resolve

    resolved = resolve(model)  # name and sha256 without loading the weights: a cached run stays cheap

    settings = {
        "model": resolved,
        "device": device,
        "corrections": corrections,
        "rewrite": rewrite,
        "correct_from": "major",
    }

    def make_checker():
        from mtcheck.pipeline import Checker

        return Checker(**settings)  # type: ignore[arg-type]

    log = (lambda _m: None) if quiet else gating.stderr_log
    workers = None
    if engine == "ray":
        import os

        from mtcheck.gate.ray_engine import RayWorkers

        jobs_given = click.get_current_context().get_parameter_source("jobs") == click.core.ParameterSource.COMMANDLINE
        count = actors or (jobs if jobs_given else os.cpu_count() or 1)
        # Actors start (and load the model) with the first item to check; this process still writes every decision.
        workers = RayWorkers(count, settings, address=address, gpus_per_actor=gpus_per_actor, log=log)
    elif jobs > 1:
        from mtcheck.pipeline import Workers

        workers = Workers(jobs, settings)  # processes start (and load the model) with the first item to check
    g = gating.FeedGate(out, policy, resolved.name, resolved.sha256, make_checker, log, workers)
    if watch:  # a service manager stops with SIGTERM: finish the same way as Ctrl-C
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
    try:
        while True:
            before = sum(g.tally.decided.values())
            g.run(_items(input_, out, settle=1.0 if watch else 0.0))
            if not watch:
                break
            if not quiet and sum(g.tally.decided.values()) > before:
                click.echo(g.tally.line(), err=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        if not watch:
            raise
    finally:
        g.close()
    if not quiet or watch:
        click.echo(f"{g.tally.line()}; {g.tally.seconds:.1f}s", err=True)
    sys.exit(0 if g.tally.worst == ACCEPT else 1)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _explain(policy) -> str:
    return explain(policy)


def _items(input_: str, out: Path, settle: float):
    if input_ == "-":
        yield from gating.iter_jsonl(sys.stdin.buffer, "-", "stdin")
        return
    path = Path(input_)
    if path.is_dir():
        yield from gating.iter_folder(path, exclude=out, settle=settle)
    elif path.is_file() and path.suffix.lower() == ".jsonl":
        with open(path, "rb") as f:
            yield from gating.iter_jsonl(f, str(path), path.stem)
    elif path.is_file():  # one article file
        item = gating.file_item(path, path.parent)
        if item is None:
            raise MtcheckError(f"{path}: cannot read")
        yield item
    elif path.exists():
        raise MtcheckError(f"{path}: not a regular file or folder")
    else:
        raise MtcheckError(f"{path}: no such file or folder")


@click.command("find-threshold")
@click.argument("data", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--score", type=click.Choice(sorted(SCORES)), default="fluency", show_default=True)
@click.option("--target-precision", type=float, default=None, help="Best = most recall at this precision or more.")
@click.option("--group", default=20, show_default=True, help="Eval format: sentences per pseudo-article.")
@click.option(
    "--bad-share", default=0.1, show_default=True, help="Eval format: MT with this share of BAD tokens is bad."
)
@click.option("--limit", type=int, default=None, help="Use at most this many labelled items.")
@model_option
@device_option
@quiet_option
def find_threshold(
    data: Path,
    score: str,
    target_precision: float | None,
    group: int,
    bad_share: float,
    limit: int | None,
    model: str | None,
    device: str,
    quiet: bool,
) -> None:
    """Sweep a threshold on one score over labelled DATA and print precision and recall of "not
    accepted" against the label at each threshold, and the best one (by F1, or --target-precision).

    DATA: JSONL with a label (label: good|bad, or bad: true|false) and scores (a gate output line) or a
    text field (checked with the model), or the ../shared/eval format, grouped into pseudo-articles.
    """
    items = load_labelled(data, group=group, bad_share=bad_share, limit=limit)
    if not items:
        raise MtcheckError(f"{data}: no labelled items")
    checker = None

    def check(item):
        nonlocal checker
        from mtcheck.pipeline import Checker
        from mtcheck.reading.formats import feed_item_article

        if checker is None:
            checker = Checker(model, device, corrections=False)
        article = feed_item_article({"id": item.id, "body": item.text}, f"{data}#{item.id}", item.id)
        if not quiet:
            click.echo(f"checking {item.id}", err=True)
        return scores_of(checker.check(article))

    pairs = [(score_value(s, score), bad) for s, bad in scored(items, check)]
    pairs = [(v, bad) for v, bad in pairs if v is not None]
    high_is_bad = SCORES[score]
    rows = sweep(pairs, high_is_bad)
    chosen = best(rows, target_precision)
    click.echo(f"{len(pairs)} items, {sum(b for _, b in pairs)} labelled bad; score {score}")
    click.echo(table(rows, score, high_is_bad, chosen))
    if chosen is None:
        click.echo(f"no threshold reaches precision {target_precision}")
    else:
        op = ">=" if high_is_bad else "<="
        click.echo(
            f"best: not accepted when {score} {op} {chosen.threshold:.4g} "
            f"(precision {chosen.precision:.3f}, recall {chosen.recall:.3f}, F1 {chosen.f1:.3f})"
        )
