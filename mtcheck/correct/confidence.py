"""How sure a suggestion is: the probability that applying it restores what the sentence should read.

A flag's confidence says how likely the span is wrong; a suggestion can still be the wrong repair of a right
flag (a preposition swapped for the wrong one) or a repair of a span that was fine (the model prefers a shorter
sentence and drops "to" from "he's got to a situation"). `Suggestion.confidence` puts both together: a logistic
model over what the report itself shows, fitted on artifacts planted in the human translations of the TED
training talks (`python -m mtcheck.training.suggestion_confidence`, records of `bench/restore.py --train`) and
stored with the detector's files (`models/detector/<model>.suggestion.json`). Where no model ships, a
suggestion carries no confidence of its own (None) and readers fall back on the flag's.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from mtcheck.core.text import ARTICLES, NUMBER_PAIRS, PREPOSITIONS
from mtcheck.core.types import Flag, Suggestion
from mtcheck.models import DETECTOR_DIR

_WORDS = re.compile(r"[\w'’-]+|[^\w\s]")

# The features, in the stored weights' order; each is computed from the flag and the suggestion alone, so a
# report read back gives the same numbers.
FEATURES = (
    "flag_confidence",  # the flag's calibrated confidence
    "log_gain",  # log(1 + the suggestion's gain in nats)
    "margin",  # log(1 + its gain minus the next suggestion's): an alternative almost as good means doubt
    "rank",  # 1 for the top suggestion
    "deletes_only",  # the edit only removes words
    "inserts_only",  # the edit only adds words
    "punctuation_only",  # the edit touches punctuation or case alone
    "source_rule",  # an MT-artifact rule's own repair
    "source_gec",  # a grammar library's edit
    "learned_only",  # the flag rests on the learned tagger alone (no rule, no LM edit gain)
    "major",  # the flag is major or critical
    "function_word",  # the edit swaps a preposition or a verb's number, or adds or drops an article, and no more
)
_FUNCTION = {*PREPOSITIONS, *NUMBER_PAIRS, *ARTICLES}


def features(flag: Flag, suggestions: list[Suggestion], rank: int, text: str) -> list[float]:
    s = suggestions[rank - 1]
    following = suggestions[rank].gain if rank < len(suggestions) else 0.0
    before = _WORDS.findall(text[s.start : s.end])
    after = _WORDS.findall(s.replacement)
    removed, added = _difference(before, after)
    words = [w for w in removed + added if w[0].isalnum()]
    codes = {str(c) for c in flag.codes}
    return [
        flag.confidence,
        math.log1p(max(0.0, s.gain)),
        math.log1p(max(0.0, s.gain - following)),
        float(rank),
        float(bool(removed) and not added),
        float(bool(added) and not removed),
        float(not words or [w.lower() for w in removed] == [w.lower() for w in added]),
        float(str(s.source) == "rule"),
        float(str(s.source) == "gec"),
        float(codes == {"learned"}),
        float(str(flag.severity) in ("major", "critical")),
        float(0 < len(words) <= 2 and all(w.lower() in _FUNCTION for w in words)),
    ]


def _difference(before: list[str], after: list[str]) -> tuple[list[str], list[str]]:
    """The words an edit removes and adds, its common start and end aside."""
    i = 0
    while i < min(len(before), len(after)) and before[i] == after[i]:
        i += 1
    j = 0
    while j < min(len(before), len(after)) - i and before[-1 - j] == after[-1 - j]:
        j += 1
    return before[i : len(before) - j], after[i : len(after) - j]


@dataclass(frozen=True)
class SuggestionConfidence:
    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    sha256: str

    @classmethod
    def for_model(cls, model_name: str) -> SuggestionConfidence | None:
        path = Path(DETECTOR_DIR) / f"{model_name}.suggestion.json"
        if not path.exists():
            return None
        import hashlib

        raw = path.read_bytes()
        data = json.loads(raw)
        if tuple(data["features"]) != FEATURES:  # fitted on other features: unusable, say so by having none
            return None
        return cls(
            tuple(data["weights"]),
            data["bias"],
            tuple(data["means"]),
            tuple(data["scales"]),
            hashlib.sha256(raw).hexdigest(),
        )

    def probability(self, x: list[float]) -> float:
        parts = zip(self.weights, x, self.means, self.scales, strict=True)
        z = self.bias + sum(w * (v - m) / s for w, v, m, s in parts)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def rate(self, flag: Flag, suggestions: list[Suggestion], text: str) -> list[Suggestion]:
        from dataclasses import replace

        return [
            replace(s, confidence=round(self.probability(features(flag, suggestions, k, text)), 3))
            for k, s in enumerate(suggestions, 1)
        ]
