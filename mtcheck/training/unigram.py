"""Build the unigram table of `lm/unigram.py` from the human post-edits of the MLQE-PE training files:
python -m mtcheck.training.unigram --model smollm2-135m
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import click
import numpy as np

from mtcheck.models import UNIGRAM_DIR
from mtcheck.training.options import eval_dir_option, model_option


@click.command()
@model_option
@eval_dir_option
def main(model: str, eval_dir: Path) -> None:
    """Count the tokens of the human post-edits with MODEL's tokenizer; write add-one log-probabilities."""
    from transformers import AutoTokenizer

    from mtcheck.core.text import detokenize
    from mtcheck.lm.store import resolve

    resolved = resolve(model)
    tokenizer = AutoTokenizer.from_pretrained(resolved.path)
    counts = np.ones(len(tokenizer), dtype=np.float64)  # add-one smoothing
    hashes = {}
    sentences = 0
    for path in sorted(eval_dir.glob("mlqe-pe.*.train.jsonl")):
        raw = path.read_bytes()
        hashes[path.name] = hashlib.sha256(raw).hexdigest()
        texts = [detokenize(json.loads(line)["pe_tok"].split())[0] for line in raw.decode().splitlines() if line]
        sentences += len(texts)
        # Tokenise as a word inside running text (leading space), the way most words occur in an article.
        for ids in tokenizer([" " + t for t in texts], add_special_tokens=False)["input_ids"]:
            np.add.at(counts, ids, 1)
    logprobs = np.log(counts / counts.sum()).astype(np.float16)
    UNIGRAM_DIR.mkdir(parents=True, exist_ok=True)
    np.save(UNIGRAM_DIR / f"{resolved.name}.npy", logprobs)
    meta = {
        "model": resolved.name,
        "sentences": sentences,
        "tokens": int(counts.sum() - len(counts)),
        "smoothing": "add-one",
        "data_sha256": hashes,
    }
    (UNIGRAM_DIR / f"{resolved.name}.json").write_text(json.dumps(meta, indent=1))
    click.echo(
        f"wrote {UNIGRAM_DIR / resolved.name}.npy: {meta['tokens']} tokens, {sentences} sentences; "
        f"min logprob {math.floor(float(logprobs.min()))}"
    )


if __name__ == "__main__":
    main()
