"""Options shared by the training commands."""

from __future__ import annotations

from pathlib import Path

import click

from mtcheck.evaluate.data import default_eval_dir

model_option = click.option("--model", default="smollm2-135m", show_default=True)
eval_dir_option = click.option(
    "--eval-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=default_eval_dir(),
    show_default=True,
    help="The annotated data (../shared/eval format): train splits fit, dev splits choose.",
)
