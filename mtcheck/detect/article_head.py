"""The article head: a small network that rates each word of a whole article, trained on MT in document
context (MQM error spans of whole documents, `training/article_head.py`), where the pooled tagger was trained
on isolated MLQE-PE lines.

It reads, per word, what the check already has at no extra pass: the pooled tagger's logit, the tagger's word
features (the LM's surprisal of the word and its neighbours, the rules' hits), the LM's hidden state at the
word and at the word after it (from the one pass), and the word's place in its article: how its surprise
compares with the article's own, whether it was seen before in the article (a name already introduced is not
new), how its sentence and the sentences around it read. Three outputs: P(error), P(major error), P(fluency or
style error), each calibrated on the dev articles (Platt). Ships as `models/detector/<model>.article.json` (its
settings, calibrations and thresholds, the weights' sha256) and `<model>.article.safetensors`.

A second head of the same kind, the **score head** (`<model>.article-score.json`), is trained on the same
articles and also on human-corrected English labelled clean (post-edits). It gives the article's score against
human English (expected words in error per sentence), which the gate reads; the first head keeps the word tags
and flags, which the post-edits would blunt (docs/results.md, session 31).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtcheck.core.errors import MtcheckError
from mtcheck.core.metrics import platt as platt_scale
from mtcheck.models import DETECTOR_DIR
from mtcheck.signals.features import FEATURE_NAMES

OUTPUTS = ("error", "major", "fluency")
TAG_HEAD, SCORE_HEAD = "article", "article-score"  # the two heads' roles, as their files name them
_S_MAX = FEATURE_NAMES.index("s_max")
_EXCESS = FEATURE_NAMES.index("excess_max")
DOC_FEATURES = (
    "s_max_vs_article",  # the word's surprisal in standard deviations of the article's
    "excess_vs_article",
    "seen_before",  # the word (lower-cased) occurred earlier in the article
    "capital_seen_before",  # a capitalised word already met: a name introduced earlier
    "sentence_tagger_mean",  # mean pooled tagger logit of the word's sentence
    "prev_sentence_tagger_mean",
    "next_sentence_tagger_mean",
    "article_tagger_mean",
    "article_s_max_mean",
    "is_headline",
    "sentence_place",  # 0 at the first sentence, 1 at the last
)


@dataclass(frozen=True)
class SentenceInputs:
    """What the article head reads of one sentence: its words' spans (article offsets), the pooled tagger's raw
    logits, the tagger's raw word features and the LM's states (word, then next word)."""

    spans: list[tuple[int, int]]
    logits: np.ndarray  # (words,)
    features: np.ndarray  # (words, len(FEATURE_NAMES)), raw
    states: np.ndarray  # (words, 2 * hidden), float16


def article_inputs(text: str, sentences: list[SentenceInputs]) -> np.ndarray:
    """The raw input rows (before standardising) of every word of one article, sentence after sentence:
    [tagger logit, word features, document features, LM states]."""
    if not sentences or not any(len(s.spans) for s in sentences):
        return np.zeros((0, 1 + len(FEATURE_NAMES) + len(DOC_FEATURES)), np.float32)
    feats = np.concatenate([s.features for s in sentences if len(s.spans)])
    s_mean, s_std = feats[:, _S_MAX].mean(), feats[:, _S_MAX].std() + 1.0
    e_mean, e_std = feats[:, _EXCESS].mean(), feats[:, _EXCESS].std() + 1.0
    means = [float(s.logits.mean()) if len(s.spans) else 0.0 for s in sentences]
    article_mean = float(np.concatenate([s.logits for s in sentences if len(s.spans)]).mean())
    seen: set[str] = set()
    rows = []
    last = max(1, len(sentences) - 1)
    for n, s in enumerate(sentences):
        if not len(s.spans):
            continue
        doc = np.zeros((len(s.spans), len(DOC_FEATURES)), np.float32)
        doc[:, 0] = (s.features[:, _S_MAX] - s_mean) / s_std
        doc[:, 1] = (s.features[:, _EXCESS] - e_mean) / e_std
        for i, (a, b) in enumerate(s.spans):
            word = text[a:b]
            if not word[:1].isalnum():
                continue  # punctuation is always "seen"; only words tell
            key = word.lower()
            doc[i, 2] = key in seen
            doc[i, 3] = word[:1].isupper() and key in seen
            seen.add(key)
        doc[:, 4] = means[n]
        doc[:, 5] = means[n - 1] if n > 0 else article_mean
        doc[:, 6] = means[n + 1] if n + 1 < len(sentences) else article_mean
        doc[:, 7] = article_mean
        doc[:, 8] = s_mean
        doc[:, 9] = n == 0
        doc[:, 10] = n / last
        rows.append(np.concatenate([s.logits[:, None], s.features, doc], 1).astype(np.float32))
    return np.concatenate(rows)


def state_rows(sentences: list[SentenceInputs]) -> np.ndarray:
    parts = [s.states for s in sentences if len(s.spans)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 1), np.float32)


def build_head(n_inputs: int, n_states: int, hidden: int = 128, state_hidden: int = 64, context: int = 5):
    """Per word: the standardised inputs and a projection of the LM states, mixed with the words around it
    (a convolution over the article's words, `context` wide), three logits out."""
    import torch

    class ArticleHeadNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.zeros(n_inputs))
            self.register_buffer("std", torch.ones(n_inputs))
            self.register_buffer("state_mean", torch.zeros(n_states))
            self.register_buffer("state_std", torch.ones(n_states))
            self.states = torch.nn.Sequential(
                torch.nn.Dropout(0.2), torch.nn.Linear(n_states, state_hidden), torch.nn.GELU()
            )
            self.word = torch.nn.Sequential(torch.nn.Linear(n_inputs + state_hidden, hidden), torch.nn.GELU())
            self.around = torch.nn.Conv1d(hidden, hidden, context, padding=context // 2)
            self.out = torch.nn.Sequential(
                torch.nn.GELU(), torch.nn.Dropout(0.1), torch.nn.Linear(hidden, len(OUTPUTS))
            )

        def forward(self, inputs, states):  # (words, n_inputs), (words, n_states): one article
            x = (inputs - self.mean) / self.std
            s = self.states((states - self.state_mean) / self.state_std)
            h = self.word(torch.cat([x, s], -1))
            around = self.around(h.T.unsqueeze(0))[0].T
            return self.out(h + around)

    return ArticleHeadNet()


@dataclass(frozen=True)
class ArticleHeadProfile:
    path: Path
    sha256: str  # of the profile JSON: names the head in the signature
    params: dict

    @classmethod
    def for_model(cls, model_name: str, role: str = TAG_HEAD) -> ArticleHeadProfile | None:
        path = DETECTOR_DIR / f"{model_name}.{role}.json"
        if not path.exists():
            return None
        raw = path.read_bytes()
        try:
            params = json.loads(raw)
        except ValueError as exc:
            raise MtcheckError(f"{path}: not an article-head profile ({exc})") from None
        return cls(path, hashlib.sha256(raw).hexdigest(), params)

    @property
    def layer(self) -> int:
        return int(self.params["layer"])

    def platt(self, output: str) -> tuple[float, float]:
        return tuple(self.params["platt"][output])  # type: ignore[return-value]

    @property
    def thresholds(self) -> dict[str, float]:
        """flag: P(error) from which words become a flag; major, critical: P(major) of a flag's words."""
        return dict(self.params["thresholds"])

    @property
    def ladder(self) -> tuple[float, float]:
        t = self.thresholds
        return t["major"], t["critical"]


class ArticleHead:
    """Inference: calibrated P(error), P(major), P(fluency) per word of one article."""

    def __init__(self, profile: ArticleHeadProfile, device: str = "cpu"):
        import torch
        from safetensors.torch import load_file

        self.profile = profile
        p = profile.params
        weights = DETECTOR_DIR / p["weights"]
        digest = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.exists() else "missing"
        if digest != p["weights_sha256"]:
            raise MtcheckError(f"{weights}: article-head weights do not match the sha256 in {profile.path.name}")
        self.net = build_head(p["n_inputs"], p["n_states"], p["hidden"], p["state_hidden"], p["context"])
        self.net.load_state_dict({k: v.float() for k, v in load_file(str(weights)).items()})
        self.net.to(device).eval()
        self.device = device
        self._torch = torch

    def raw(self, inputs: np.ndarray, states: np.ndarray) -> np.ndarray:
        """Uncalibrated logits, (words, len(OUTPUTS))."""
        torch = self._torch
        if not len(inputs):
            return np.zeros((0, len(OUTPUTS)), np.float32)
        with torch.inference_mode():
            z = self.net(torch.from_numpy(inputs).to(self.device), torch.from_numpy(states).to(self.device))
        return z.float().cpu().numpy()

    def predict(self, inputs: np.ndarray, states: np.ndarray) -> dict[str, np.ndarray]:
        z = self.raw(inputs, states)
        return {name: platt_scale(z[:, k], list(self.profile.platt(name))) for k, name in enumerate(OUTPUTS)}
