"""Token frequencies of human English, to tell "rare word" from "wrong word".

A name or a rare word surprises the language model wherever it stands; a garble surprises it although the
word is common. Acceptability research (SLOR, Lau et al. 2017) subtracts the unigram log-probability for
this. The table is built from the human post-edits of the MLQE-PE training files and ships in `models/`:
    python -m mtcheck.unigram --model smollm2-135m
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import click
import numpy as np

from .modelstore import MANIFEST_PATH

UNIGRAM_DIR = MANIFEST_PATH.parent / "unigram"


class UnigramTable:
    def __init__(self, logprobs: np.ndarray, meta: dict):
        self.logprobs = logprobs
        self.meta = meta

    @classmethod
    def load(cls, model_name: str) -> UnigramTable | None:
        path = UNIGRAM_DIR / f"{model_name}.npy"
        if not path.exists():
            return None
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return cls(np.load(path).astype(np.float32), meta)

    def surprisal(self, token_id: int) -> float:
        if 0 <= token_id < len(self.logprobs):
            return float(-self.logprobs[token_id])
        return float(-self.logprobs.min())


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option(
    "--eval-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path(__file__).resolve().parent.parent.parent / "shared" / "eval",
    show_default=True,
)
def main(model: str, eval_dir: Path) -> None:
    """Count the tokens of the human post-edits with MODEL's tokenizer; write add-one log-probabilities."""
    from transformers import AutoTokenizer

    from .modelstore import resolve
    from .textutil import detokenize

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
