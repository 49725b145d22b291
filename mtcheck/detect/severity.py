"""From hits to graded flags: overlapping hits merge into one flag, its evidence combines their confidences,
and its severity is measured against human English.

Severity. The first ladder (evidence >= 0.6 is major) gave a major flag to 16% of human-corrected sentences
(MLQE-PE dev post-edits, `bench/postedit_flags.py`), so a major flag also needs a *strong* signal, one that
fires on about 1% of those sentences or fewer:
- the learned detector's mean P(BAD) over the span, on the pooled (source-blind) scale, >= 0.85;
- an edit gain of confidence >= 0.95 (a small edit makes the sentence far more probable);
- an MT-artifact rule (doubled punctuation, a capitalised pronoun or function word in mid-sentence, a bracketed
  gloss, a calque) confirmed by another signal, or one that is a failure by itself (a full stop cutting a
  sentence, untranslated script, a phrase repeated back to back: 95% of the words it covers in the dev and
  train MT of every pair are tagged BAD, and it fires on 10 of some 45,000 post-edits).
critical = evidence >= 0.9 from independent signals of weight >= 3 (e.g. a rule, an edit gain and the learned
detector); major = evidence >= 0.6 with a strong signal; minor = the rest.
Evidence combines the reasons' own confidences as if independent, 1 - prod(1 - c), and ranks flags. The
confidence a report shows is the evidence calibrated on dev (`confidence.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mtcheck.core.article import Article
from mtcheck.core.codes import ARTIFACT_RULES, SELF_EVIDENT_RULES, STANDALONE, Code, Severity
from mtcheck.core.types import Hit, Reason

STRONG_LEARNED_P = 0.85  # pooled P(BAD): fires on about 1% of dev post-edits (see the module docstring)
STRONG_EDIT_GAIN = 0.95
CRITICAL_EVIDENCE, CRITICAL_WEIGHT = 0.9, 3.0
MAJOR_EVIDENCE = 0.6


@dataclass(frozen=True)
class HitGroup:
    """Overlapping hits merged into one span: what becomes a flag once it is graded (`Detector`)."""

    start: int
    end: int
    text: str
    hits: tuple[Hit, ...]
    evidence: float  # 1 - prod(1 - c) over the strongest hit of each reason code
    reasons: tuple[Reason, ...]  # one per reason code, the most confident first


def combine(article: Article, hits: list[Hit]) -> list[HitGroup]:
    """Merge overlapping hits (within a paragraph) into groups, in reading order."""
    groups: list[list[Hit]] = []
    for hit in sorted((h for h in hits if h.code not in STANDALONE), key=lambda h: (h.start, h.end)):
        if groups and hit.start < max(h.end for h in groups[-1]) and _same_paragraph(article, groups[-1][0], hit):
            groups[-1].append(hit)
        else:
            groups.append([hit])
    groups += [[h] for h in hits if h.code in STANDALONE]
    merged = [_merge(article, group) for group in groups]
    merged.sort(key=lambda g: (g.start, g.end))
    return merged


def combined_evidence(hits: list[Hit]) -> float:
    """1 - prod(1 - c) over the strongest hit of each reason code."""
    miss = 1.0
    for h in strongest_by_code(hits).values():
        miss *= 1.0 - h.confidence
    return 1.0 - miss


def strongest_by_code(hits: list[Hit] | tuple[Hit, ...]) -> dict[Code, Hit]:
    """One hit per reason code, the most confident: repeated hits of one signal are not independent evidence."""
    by_code: dict[Code, Hit] = {}
    for h in hits:
        if h.code not in by_code or h.confidence > by_code[h.code].confidence:
            by_code[h.code] = h
    return by_code


def severity(
    group: HitGroup,
    learned_pooled: float | None = None,
    major_p: float | None = None,
    ladder: tuple[float, float] | None = None,
) -> Severity:
    """critical / major / minor (see the module docstring). `learned_pooled`: the learned detector's mean
    P(BAD) over the span on the pooled scale, where it read the span. In articles, `major_p` is the article
    head's mean calibrated P(major error) over the span and `ladder` its (major, critical) thresholds, chosen on
    dev articles where 70% and 85% of such flags lay on a rater's major error (`training/article_head.py`)."""
    by_code = strongest_by_code(group.hits)
    if group.evidence >= CRITICAL_EVIDENCE and sum(h.weight for h in by_code.values()) >= CRITICAL_WEIGHT:
        return Severity.CRITICAL
    if major_p is not None and ladder is not None and major_p >= ladder[0]:
        return Severity.CRITICAL if major_p >= ladder[1] else Severity.MAJOR
    rules = set(by_code) & ARTIFACT_RULES
    strong = (
        (learned_pooled is not None and learned_pooled >= STRONG_LEARNED_P)
        or (Code.EDIT_GAIN in by_code and by_code[Code.EDIT_GAIN].confidence >= STRONG_EDIT_GAIN)
        or bool(rules & SELF_EVIDENT_RULES)
        or bool(rules and len(by_code) >= 2)
    )
    return Severity.MAJOR if group.evidence >= MAJOR_EVIDENCE and strong else Severity.MINOR


LADDER = f"strong-p{STRONG_LEARNED_P}/gain{STRONG_EDIT_GAIN}"  # the ladder's settings, as the signature names them


def _same_paragraph(article: Article, a: Hit, b: Hit) -> bool:
    for p_start, p_end in article.paragraphs:
        if p_start <= a.start < p_end:
            return p_start <= b.start < p_end
    return False


def _merge(article: Article, group: list[Hit]) -> HitGroup:
    start, end = min(h.start for h in group), max(h.end for h in group)
    by_code = strongest_by_code(group)
    reasons = tuple(Reason(h.code, h.message) for h in sorted(by_code.values(), key=lambda h: -h.confidence))
    return HitGroup(start, end, article.text[start:end], tuple(group), combined_evidence(group), reasons)
