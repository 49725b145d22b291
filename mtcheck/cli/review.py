"""`mtcheck review FOLDER`: serve a reports folder for review; `mtcheck review export`: feedback data."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from mtcheck.core.errors import MtcheckError
from mtcheck.core.files import atomic_write
from mtcheck.review.feedback import dumps_lines, export_feedback


class _ServeByDefault(click.Group):
    """`mtcheck review reports/` means `mtcheck review serve reports/`; named subcommands still work."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group("review", cls=_ServeByDefault, context_settings={"help_option_names": ["-h", "--help"]})
def review() -> None:
    """Review a reports folder in the browser: `mtcheck review reports/` (see `serve`), or export the
    decisions as training data: `mtcheck review export reports/ --out feedback.jsonl`."""


@review.command("serve")
@click.argument("folder", type=click.Path(path_type=Path), default="reports")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port.")
@click.option("--verbose", "-v", is_flag=True, help="Log every request on stderr.")
def serve(folder: Path, host: str, port: int, verbose: bool) -> None:
    """Serve FOLDER's report pages and save each decision to `<name>.decisions.json` as it is made.

    On an article page: j/k next/previous flag, 1-5 use suggestion N, x reject (false alarm), e type your own
    reading (Enter saves, Esc cancels), u reopen. Runs until Ctrl-C.
    """
    from mtcheck.review.server import ReviewServer

    server = ReviewServer(folder, host, port, verbose)
    shown = str(folder).rstrip("/") + "/"
    # Ctrl-C and SIGTERM stop the server cleanly. Set explicitly: a process started in the background by a
    # non-interactive shell inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    click.echo(f"mtcheck: reviewing {shown} at {server.login_url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("mtcheck: stopped", err=True)
    finally:
        server.server_close()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@review.command("export")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", default="feedback.jsonl", show_default=True, help="JSONL file, or - for stdout.")
def export(paths: tuple[Path, ...], out: str) -> None:
    """Write every reviewed sentence of the reports folders in PATHS (default reports/) as a line in the
    ../shared/eval format (mt_tok, mt_word_tags, pe_tok) plus source, report and flag_ids."""
    lines, notes = export_feedback(list(paths) or [Path("reports")])
    for note in notes:
        click.echo(f"mtcheck: {note}", err=True)
    if out == "-":
        click.echo(dumps_lines(lines), nl=False)
    else:
        try:
            atomic_write(Path(out), dumps_lines(lines))
        except OSError as exc:
            raise MtcheckError(f"{out}: cannot write: {exc.strerror or exc}") from None
        click.echo(f"mtcheck: wrote {len(lines)} reviewed sentences to {out}", err=True)


# The same export under a top-level name, for scripts.
export_feedback_command = click.Command(
    "export-feedback", callback=export.callback, params=export.params, help=export.help
)
