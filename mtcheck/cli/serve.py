"""`mtcheck serve`: the checker over HTTP (mtcheck/serve/server.py)."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from mtcheck.cli.options import (
    device_option,
    model_option,
    precision_option,
    quiet_option,
    rewrite_option,
    source_lang_option,
)
from mtcheck.serve.server import DEFAULT_MAX_BYTES, DEFAULT_PORT, CheckServer, ServeOptions


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on; off loopback needs a token."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="0 picks a free one."
)
@click.option(
    "--token",
    envvar="MTCHECK_TOKEN",
    show_envvar=True,
    default=None,
    metavar="TOKEN",
    help="Every request but GET /health must send `Authorization: Bearer TOKEN` (at least 16 characters). Required "
    "when --host is not loopback. Prefer the environment variable: a command line is visible to other users.",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(1),
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    help="Largest request body (413 above it, judged from Content-Length).",
)
@click.option("--max-items", type=click.IntRange(1, 10000), default=32, show_default=True, help="Most items a request.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=120.0,
    show_default=True,
    help="Seconds from a request's arrival to its answer: past it, 503 if it was still queued (never ran), "
    "504 if its check was running.",
)
@click.option(
    "--queue",
    "queue_size",
    type=click.IntRange(1, 10000),
    default=32,
    show_default=True,
    help="Requests that may wait for the model; past that, 503 with Retry-After.",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Gate policy TOML for ?gate=1 (default: built in, as `mtcheck gate`).",
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
@quiet_option
def serve(
    host: str,
    port: int,
    token: str | None,
    max_bytes: int,
    max_items: int,
    timeout: float,
    queue_size: int,
    policy_file: Path | None,
    corrections: bool,
    rewrite: bool,
    source_lang: str | None,
    model: str | None,
    device: str,
    precision: str,
    quiet: bool,
) -> None:
    """Serve the checker over HTTP: POST /v1/check with {"text": "..."} (or {"items": [...]}) answers the report
    JSON, LanguageTool's shape with ?format=languagetool, the gate's decision too with ?gate=1; GET /health,
    GET /version. One model, loaded once; requests queue onto it. Runs until Ctrl-C or SIGTERM.

    \b
    curl -s localhost:8765/v1/check -H 'Content-Type: application/json' -d '{"text": "NATO He will."}'
    """
    from mtcheck.gate.policy import load_policy

    policy = load_policy(policy_file) if policy_file is not None else None
    options = ServeOptions(
        host=host,
        port=port,
        token=token or None,
        max_bytes=max_bytes,
        max_items=max_items,
        timeout=timeout,
        queue_size=queue_size,
        policy=policy,
        quiet=quiet,
    )
    # Ctrl-C and SIGTERM stop the server cleanly. Set explicitly: a process started in the background by a
    # non-interactive shell inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    server = CheckServer(options)  # the address and token checked, the port bound: before the model loads
    try:
        from mtcheck.api import Checker

        checker = Checker(
            model,
            device=device,
            source_lang=source_lang,
            corrections=corrections,
            precision=precision,
            rewrite=rewrite,
        )
        server.attach(checker)
        m = checker.model
        click.echo(
            f"mtcheck: serving {server.url} (POST /v1/check; model {m['name']} sha256 {str(m['sha256'])[:12]}"
            f"{'; token required' if server.token else ''})"
        )
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("mtcheck: stopped", err=True)
    finally:
        server.close()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
