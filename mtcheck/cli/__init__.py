"""Command line: one module per subcommand; each calls the stages and never the other way round."""

from __future__ import annotations

import sys

import click

from mtcheck import __version__
from mtcheck.core.errors import MtcheckError


class MtcheckGroup(click.Group):
    """Turns the user's errors into one plain line and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MtcheckError as exc:
            click.echo(f"mtcheck: error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:  # the disk filled up, a folder vanished mid-run: said in one line, not a traceback
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"mtcheck: error: {where}{exc.strerror or exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("mtcheck: interrupted", err=True)
            sys.exit(130)


@click.group(cls=MtcheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mtcheck")
def main() -> None:
    """Find machine-garbled passages in English translations of news, score fluency, propose fixes."""


def _register() -> None:
    from mtcheck.cli import apply as apply_cmd
    from mtcheck.cli import check, eval, models, review, score, serve
    from mtcheck.cli import gate as gate_cmd

    main.add_command(models.models)
    main.add_command(score.score)
    main.add_command(check.check)
    main.add_command(eval.eval_command)
    main.add_command(review.review)
    main.add_command(review.export_feedback_command)
    main.add_command(apply_cmd.apply)
    main.add_command(gate_cmd.gate)
    main.add_command(gate_cmd.find_threshold)
    main.add_command(serve.serve)


_register()
