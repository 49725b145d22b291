"""Detection: rules and language-model evidence combined into flagged spans.

Severity is measurable: it follows from how much independent evidence a span has (the weights of its
distinct reasons) and the combined confidence:
- critical: confidence >= 0.9 and at least two strong independent signals (weight >= 3);
- major: confidence >= 0.6;
- minor: the rest (a single weak signal: an unbalanced quote, a surprisal spike no edit repairs).
Confidence combines the reasons' own confidences as independent evidence: 1 - prod(1 - c).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..document import Article
from ..scoring import LanguageModel, TokenScore
from ..unigram import UnigramTable
from .lmsignals import LMSignals, Settings
from .rules import Hit, run_rules

SEVERITIES = ("minor", "major", "critical")
# Reasons that describe a whole sentence; merging them with local hits would make flags sentence-long.
_STANDALONE = {"unbalanced-quote"}


@dataclass
class Reason:
    code: str
    message: str


@dataclass
class Flag:
    start: int
    end: int
    text: str
    severity: str
    confidence: float
    reasons: list[Reason]
    hits: list[Hit] = field(default_factory=list, repr=False)  # raw evidence, for the corrections stage
    suggestions: list[dict] = field(default_factory=list)

    def to_json(self, flag_id: str) -> dict:
        return {
            "id": flag_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "severity": self.severity,
            "confidence": round(self.confidence, 3),
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "suggestions": self.suggestions,
        }


class Detector:
    name = "rules+edit-gain/1"

    def __init__(self, lm: LanguageModel | None, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.lm = lm
        self.signals = LMSignals(lm, UnigramTable.load(lm.name), self.settings) if lm else None

    def signature(self) -> str:
        s = self.settings
        unigram = "yes" if self.signals and self.signals.unigram is not None else "no"
        return (
            f"detector:{self.name}|slor:{s.candidate_slor}|excess:{s.candidate_excess}|"
            f"cands:{s.max_candidates}|subs:{s.substitutes}|gain:{s.min_gain}/{s.gain_midpoint}/{s.gain_scale}|"
            f"spike:{s.spike_slor}|"
            f"unigram:{unigram}"
        )

    def detect(self, article: Article, tokens: list[TokenScore]) -> list[Flag]:
        hits = run_rules(article)
        if self.signals is not None and tokens:
            hits += self.signals.hits(article, tokens)
        return combine(article, hits)


def combine(article: Article, hits: list[Hit]) -> list[Flag]:
    """Merge overlapping hits (within a paragraph) into flags; grade each flag."""
    groups: list[list[Hit]] = []
    for hit in sorted((h for h in hits if h.code not in _STANDALONE), key=lambda h: (h.start, h.end)):
        if (
            groups
            and hit.start < max(h.end for h in groups[-1])
            and _same_paragraph(article, groups[-1][0], hit)
        ):
            groups[-1].append(hit)
        else:
            groups.append([hit])
    groups += [[h] for h in hits if h.code in _STANDALONE]
    flags = [_grade(article, group) for group in groups]
    flags.sort(key=lambda f: (f.start, f.end))
    return flags


def _same_paragraph(article: Article, a: Hit, b: Hit) -> bool:
    for p_start, p_end in article.paragraphs:
        if p_start <= a.start < p_end:
            return p_start <= b.start < p_end
    return False


def _grade(article: Article, group: list[Hit]) -> Flag:
    start, end = min(h.start for h in group), max(h.end for h in group)
    by_code: dict[str, Hit] = {}
    for h in group:
        if h.code not in by_code or h.confidence > by_code[h.code].confidence:
            by_code[h.code] = h
    miss = 1.0
    for h in by_code.values():
        miss *= 1.0 - h.confidence
    confidence = 1.0 - miss
    weight = sum(h.weight for h in by_code.values())
    if confidence >= 0.9 and weight >= 3.0:
        severity = "critical"
    elif confidence >= 0.6:
        severity = "major"
    else:
        severity = "minor"
    reasons = [Reason(h.code, h.message) for h in sorted(by_code.values(), key=lambda h: -h.confidence)]
    return Flag(start, end, article.text[start:end], severity, confidence, reasons, hits=list(group))
