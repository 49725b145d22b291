"""Token frequencies of human English, to tell "rare word" from "wrong word".

A name or a rare word surprises the language model wherever it stands; a garble surprises it although the
word is common. Acceptability research (SLOR, Lau et al. 2017) subtracts the unigram log-probability for
this. The table is built from the human post-edits of the MLQE-PE training files and ships in `models/`:
    python -m mtcheck.training.unigram --model smollm2-135m
"""

from __future__ import annotations

import json

import numpy as np

from mtcheck.models import UNIGRAM_DIR


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
