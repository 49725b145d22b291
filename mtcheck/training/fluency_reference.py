"""Fluency 0-100, calibrated on human-written English.

The reference is human-corrected English: the post-edits of the MLQE-PE training files (five language
pairs). Each reference sentence is scored alone by the model; a sentence's statistic is its mean token
surprisal after the first token. Fluency of any text = 100 x (2 x share of reference sentences at least as
surprising), capped at 100: a score of 100 means "reads at least as well as the median human sentence",
50 means "as surprising as the human sentence at the 75th percentile", 10 means "only 5% of human
sentences are this surprising".

Build the table (once per model, about 3 minutes on 2 cores):
    python -m mtcheck.training.fluency_reference --model smollm2-135m
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import click
from mtcheck.models import CALIBRATION_DIR

from mtcheck.evaluate.data import default_eval_dir
from mtcheck.lm.fluency import DESCRIPTION, sentence_statistic


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option(
    "--eval-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=default_eval_dir(),
    show_default=True,
)
@click.option("--per-pair", default=600, show_default=True, help="Post-edit sentences sampled per language pair.")
@click.option("--seed", default=13, show_default=True)
def main(model: str, eval_dir: Path, per_pair: int, seed: int) -> None:
    """Score human post-edits and write the fluency reference table for MODEL."""
    from mtcheck.core.text import detokenize
    from mtcheck.lm.model import LanguageModel

    lm = LanguageModel(model)
    rng = random.Random(seed)
    sentences: list[str] = []
    hashes = {}
    for path in sorted(eval_dir.glob("mlqe-pe.*.train.jsonl")):
        raw = path.read_bytes()
        hashes[path.name] = hashlib.sha256(raw).hexdigest()
        lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        for item in rng.sample(lines, min(per_pair, len(lines))):
            sentences.append(detokenize(item["pe_tok"].split())[0])
    stats = []
    for start in range(0, len(sentences), 64):
        for scores in lm.score_many(sentences[start : start + 64]):
            value = sentence_statistic([t.surprisal for t in scores])
            if value is not None:
                stats.append(value)
        click.echo(f"{min(start + 64, len(sentences))}/{len(sentences)}", err=True)
    stats.sort()
    CALIBRATION_DIR.mkdir(parents=True, exist_ok=True)
    out = CALIBRATION_DIR / f"{lm.name}.json"
    meta = {
        "model": lm.name,
        "model_sha256": lm.sha256,
        "sentences": len(stats),
        "seed": seed,
        "per_pair": per_pair,
        "data_sha256": hashes,
        "statistic": "mean surprisal after first token",
        "description": DESCRIPTION,
    }
    out.write_text(json.dumps({"meta": meta, "quantiles": [round(x, 4) for x in stats]}, indent=1))
    click.echo(f"wrote {out}: median {stats[len(stats) // 2]:.3f} nats over {len(stats)} sentences")


if __name__ == "__main__":
    main()
