"""Build the fluency reference table of `lm/fluency.py` (the scale and its reference are described there):
human post-edits of the MLQE-PE training files, each scored alone by the model. Once per model, about 3 minutes
on 2 cores:
    python -m mtcheck.training.fluency_reference --model smollm2-135m
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import click

from mtcheck.lm.fluency import DESCRIPTION, sentence_statistic
from mtcheck.models import CALIBRATION_DIR
from mtcheck.training.options import eval_dir_option, model_option


@click.command()
@model_option
@eval_dir_option
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
