"""Options shared by the subcommands that run a language model."""

from __future__ import annotations

import click

model_option = click.option(
    "--model",
    "-m",
    default=None,
    metavar="NAME|PATH|HUB-ID",
    help="Model: a name from `mtcheck models list` (default smollm2-135m), a local HF model folder, "
    "a .gguf file, or a hub id (needs a network).",
)
device_option = click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages on stderr.")
source_lang_option = click.option(
    "--source-lang",
    default=None,
    metavar="CODE",
    help="Language the text was translated from (ro, et, ru, zh), when known: the detector then uses the "
    "calibration and threshold chosen for it on dev. Default: the pooled ones.",
)
precision_option = click.option(
    "--precision",
    type=click.Choice(["auto", "bf16", "fp32"]),
    default="auto",
    show_default=True,
    help="Model numerics: auto = bf16 where the CPU (AVX-512 BF16) or GPU computes it natively, else fp32.",
)
jobs_option = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Articles checked at once, on threads sharing one copy of the model, each with an equal share of the CPU "
    "cores. Under bf16 the thread count moves log-probabilities a little, so a flag near a threshold can differ "
    "from a run with other --jobs; reports record the threads.",
)
rewrite_option = click.option(
    "--rewrite/--no-rewrite",
    default=False,
    show_default=True,
    help="Also ask the instruction-tuned model for a rewrite of each major or critical flag's sentence, as one more "
    "candidate (ranked and guarded like the others). Off by default: with SmolLM2-135M it was never an accepted "
    "suggestion on the seeds and 10 dev articles, and cost more than the detection (docs/results.md).",
)
