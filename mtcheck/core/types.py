"""The typed values that pass between the stages after reading: token scores from the LM, hits from the
signals (each may carry a `Fix` for the corrector), flags from the detector, suggestions from the corrector.
All frozen: a stage returns new values (`dataclasses.replace`) and never changes what it was given."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from mtcheck.core.codes import Code, Severity


@dataclass(frozen=True)
class TokenScore:
    start: int  # character span of the token in the scored text
    end: int
    token: str  # the token as the tokenizer spells it (decoded)
    surprisal: float  # -ln p(token | left context), nats
    entropy: float  # entropy of the predicted distribution, nats
    rank: int  # 1 = the model's top choice
    token_id: int = -1
    alternatives: tuple[int, ...] = ()  # top choices here (token ids); a pass keeps them apart: UnitPass.alternatives

    def to_json(self) -> dict:
        return {
            "start": self.start,
            "end": self.end,
            "token": self.token,
            "surprisal": round(self.surprisal, 4),
            "entropy": round(self.entropy, 4),
            "rank": self.rank,
        }


class FixSource(StrEnum):
    EDIT = "edit"  # a small edit the language model prefers (edit gain, LM-Critic)
    RULE = "rule"  # an MT-artifact rule's own repair (calque idiom, one copy of a loop)
    REWRITE = "rewrite"  # the instruction-tuned model's rewrite of the sentence
    GEC = "gec"  # a grammar library's edit: the GECToR tagger (quire-grammar-model) or Harper


@dataclass(frozen=True)
class Fix:
    """A repair that a signal found while detecting: text[start:end] -> replacement, with why in words.
    The corrector ranks it beside its own candidates."""

    start: int
    end: int
    replacement: str
    source: FixSource
    why: str
    keeps_words: bool = False  # it only drops repeated copies: no word of the sentence is lost (no SLOR charge)


@dataclass(frozen=True)
class Hit:
    """One signal's evidence for one span."""

    start: int
    end: int
    code: Code
    message: str
    confidence: float  # how often this signal alone marks a real error (0-1)
    weight: float = 1.0  # how much it counts toward severity
    fix: Fix | None = None
    score: float | None = None  # the signal's own measure (an edit's gain, a learned P(BAD)), for reading


@dataclass(frozen=True)
class Reason:
    code: Code
    message: str

    def to_json(self) -> dict:
        return {"code": str(self.code), "message": self.message}


@dataclass(frozen=True)
class Suggestion:
    """A proposed reading of a flagged span. `sentence` is the whole corrected sentence, which starts at
    `sentence_start` in the article: text[:start] + replacement + text[end:] holds it there."""

    start: int
    end: int
    replacement: str
    sentence: str
    sentence_start: int
    gain: float  # nats: SLOR-adjusted log-probability gain of the sentence in context
    source: FixSource
    why: str
    similarity: float | None = None  # embedding similarity to the original sentence (None: not measured)
    guard: str | None = None  # set on a rejected candidate: the meaning guard that refused it ...
    rejected_because: str | None = None  # ... and why
    # P(applying it restores what the sentence should read): the flag's doubt and the repair's together
    # (correct/confidence.py); None where no suggestion model ships for the language model
    confidence: float | None = None

    def to_json(self) -> dict:
        out = {
            "start": self.start,
            "end": self.end,
            "replacement": self.replacement,
            "sentence": self.sentence,
            "sentence_start": self.sentence_start,
            "gain": round(self.gain, 2),
            "source": str(self.source),
            "why": self.why,
        }
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 3)
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.guard is not None:
            out["guard"] = self.guard
            out["rejected_because"] = self.rejected_because
        return out

    @classmethod
    def from_json(cls, data: dict) -> Suggestion:
        return cls(
            start=data["start"],
            end=data["end"],
            replacement=data["replacement"],
            sentence=data.get("sentence", ""),
            sentence_start=data.get("sentence_start", data["start"]),
            gain=data.get("gain", 0.0),
            source=FixSource(data.get("source", "edit")),
            why=data.get("why", ""),
            similarity=data.get("similarity"),
            guard=data.get("guard"),
            rejected_because=data.get("rejected_because"),
            confidence=data.get("confidence"),
        )


@dataclass(frozen=True)
class Flag:
    """A flagged span: overlapping hits merged, graded and calibrated."""

    start: int
    end: int
    text: str
    severity: Severity
    confidence: float  # calibrated: the expected share of the span's words that are wrong (detect/confidence.py)
    reasons: tuple[Reason, ...]
    evidence: float = 0.0  # raw combined evidence of the reasons, 1 - prod(1 - c); ranks flags, sets confidence
    learned_p: float | None = None  # the learned detector's mean calibrated P(BAD) over the span's words
    learned_pooled: float | None = None  # the same on the pooled scale (source-blind), for severity
    hits: tuple[Hit, ...] = field(default=(), repr=False)  # the raw evidence, for the corrections stage
    suggestions: tuple[Suggestion, ...] = ()
    rejected: tuple[Suggestion, ...] = ()  # candidates a meaning guard refused, with the reason
    id: str = ""  # "f1", "f2", ... in reading order, set by the report

    @property
    def codes(self) -> set[Code]:
        return {r.code for r in self.reasons}

    def with_suggestions(self, accepted: list[Suggestion], rejected: list[Suggestion]) -> Flag:
        return replace(self, suggestions=tuple(accepted), rejected=tuple(rejected))

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "severity": str(self.severity),
            "confidence": round(self.confidence, 3),
            "evidence": round(self.evidence, 3),
            "learned_p": None if self.learned_p is None else round(self.learned_p, 3),
            "reasons": [r.to_json() for r in self.reasons],
            "suggestions": [s.to_json() for s in self.suggestions],
            "rejected_suggestions": [s.to_json() for s in self.rejected],
        }

    @classmethod
    def from_json(cls, data: dict) -> Flag:
        return cls(
            start=data["start"],
            end=data["end"],
            text=data.get("text", ""),
            severity=Severity(data.get("severity", "minor")),
            confidence=data.get("confidence", 0.0),
            reasons=tuple(Reason(_code(r["code"]), r.get("message", "")) for r in data.get("reasons", [])),
            evidence=data.get("evidence", data.get("confidence", 0.0)),
            learned_p=data.get("learned_p"),
            suggestions=tuple(Suggestion.from_json(s) for s in data.get("suggestions", [])),
            rejected=tuple(Suggestion.from_json(s) for s in data.get("rejected_suggestions", [])),
            id=data.get("id", ""),
        )


def _code(value: str) -> Code | str:
    """A reason code; one this version does not know (a newer report) is kept as its string."""
    try:
        return Code(value)
    except ValueError:
        return value
