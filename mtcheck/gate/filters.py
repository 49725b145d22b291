"""The gate's checks. Each reads one typed `Report` (`mtcheck.report/1`) and the policy and returns KEEP (None)
or a `GateReason` (decision, code, message), like datatrove's filters; the item's decision is the most
severe of them (accept < quarantine < reject).

The checks read only the report, so they are tested on reports built without the model
(tests/reports.py) and can re-decide stored reports under another policy without the language model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from mtcheck.core.codes import WORST_FIRST, Code, Severity
from mtcheck.core.report import Report
from mtcheck.core.types import Flag
from mtcheck.gate.policy import Policy

ACCEPT, QUARANTINE, REJECT = "accept", "quarantine", "reject"
DECISIONS = (ACCEPT, QUARANTINE, REJECT)  # in rising severity
SEVERITY = {d: i for i, d in enumerate(DECISIONS)}
OUT_FOLDER = {ACCEPT: "accepted", QUARANTINE: "quarantined", REJECT: "rejected"}


@dataclass(frozen=True)
class GateReason:
    """Why the gate holds an item back (not a flag's `core.types.Reason`, which says why a span was flagged)."""

    decision: str  # quarantine | reject (a reason never accepts)
    code: str
    message: str

    def to_json(self) -> dict:
        return asdict(self)


Check = Callable[[Report, Policy], "GateReason | None"]
KEEP = None

# The most common English function words: real English prose has 35-50% of them, other languages
# written in Latin letters (Romanian, Estonian, Indonesian...) almost none.
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into about after before over under between
    through during against without within is are was were be been being am has have had do does did will would
    shall should can could may might must not no nor so than then that this these those there here it its he
    she they them their his her him we our us you your i me my who whom whose which what when where why how
    all any both each more most other some such only own same too very just also up out off again""".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _scored_text(report: Report) -> list[tuple[int, str]]:
    """(paragraph, text) of every scored segment (title and sentences)."""
    return [(s.paragraph, report.text[s.start : s.end]) for s in report.segments if s.scored]


def _off(value: object) -> bool:
    return value is False or value is None


def _quote(
    flags: tuple[Flag, ...], limit: int, severities: tuple[Severity, ...] = (Severity.CRITICAL, Severity.MAJOR)
) -> str:
    """The flagged spans themselves, most severe first: the editor sees what was garbled."""
    chosen = sorted(
        (f for f in flags if f.severity in severities),
        key=lambda f: (-Severity(f.severity).rank, -float(f.confidence or 0)),
    )
    quoted = [f"“{' '.join(f.text.split())}” ({f.severity})" for f in chosen[:limit]]
    more = len(chosen) - len(quoted)
    return ", ".join(quoted) + (f" and {more} more" if more > 0 else "")


def words(report: Report) -> int:
    return int(report.article.words or 0)


def per_1k(report: Report, severity: Severity | str) -> float:
    n = words(report)
    return 1000.0 * int(report.scores.count(severity) or 0) / n if n else 0.0


# --- the checks ----------------------------------------------------------------------------------
def boilerplate_only(report: Report, policy: Policy) -> GateReason | None:
    if not policy.get("boilerplate", "reject_when_nothing_scored"):
        return KEEP
    if _scored_text(report) and words(report) > 0:
        return KEEP
    kinds = sorted({s.kind for s in report.segments})
    found = ", ".join(kinds) if kinds else "no text"
    return GateReason(REJECT, "boilerplate-only", f"nothing to score: the item holds only {found}")


def too_short(report: Report, policy: Policy) -> GateReason | None:
    minimum = policy.get("length", "min_words")
    n = words(report)
    if _off(minimum) or n >= minimum or n == 0:  # n == 0 is boilerplate_only's case
        return KEEP
    return GateReason(QUARANTINE, "too-short", f"{n} scored words, fewer than {minimum}: too little text to judge")


def language(report: Report, policy: Policy) -> GateReason | None:
    """Cheap English check: ASCII-Latin letters, common English words, the "untranslated" rule's hits."""
    segments = _scored_text(report)
    if not segments:
        return KEEP
    problems: list[str] = []
    untranslated = [f for f in report.flags if Code.UNTRANSLATED in f.codes]
    # Counted in letters: a Greek etymology ("ἔργον") or a name in Hangul is not an untranslated passage.
    limit = policy.get("language", "max_untranslated_letters")
    foreign = sum(1 for f in untranslated for c in f.text if c.isalpha() and not c.isascii())
    if not _off(limit) and foreign > limit:
        spans = ", ".join(f"“{' '.join(f.text.split())[:60]}”" for f in untranslated[:3])
        problems.append(f"{foreign} letters left in another script: {spans}")
    letters = [c for _, t in segments for c in t if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii())
    minimum = policy.get("language", "min_latin_share")
    if letters and not _off(minimum) and latin / len(letters) < minimum:
        problems.append(f"only {latin / len(letters):.0%} of letters are Latin (minimum {minimum:.0%})")
    minimum = policy.get("language", "min_paragraph_latin_share")
    if not _off(minimum):
        by_par: dict[int, list[str]] = {}
        for par, t in segments:
            by_par.setdefault(par, []).append(t)
        for par, texts in by_par.items():
            pl = [c for c in " ".join(texts) if c.isalpha()]
            share = sum(1 for c in pl if c.isascii()) / len(pl) if pl else 1.0
            if len(pl) >= 20 and share < minimum:
                sample = " ".join(" ".join(texts).split())[:60]
                problems.append(f"paragraph {par + 1} is {share:.0%} Latin letters (“{sample}…”)")
                break
    tokens = [w.lower() for _, t in segments for w in _WORD.findall(t)]
    minimum = policy.get("language", "min_stopword_share")
    if len(tokens) >= 10 and not _off(minimum):
        share = sum(1 for w in tokens if w in STOPWORDS) / len(tokens)
        if share < minimum:
            problems.append(f"only {share:.0%} of words are common English words (minimum {minimum:.0%})")
    if not problems:
        return KEEP
    code = "untranslated" if untranslated and len(problems) == 1 else "not-english"
    return GateReason(QUARANTINE, code, "not (all) English: " + "; ".join(problems))


def fluency(report: Report, policy: Policy) -> GateReason | None:
    value = report.scores.fluency
    if value is None:
        return KEEP
    for decision, key in ((REJECT, "reject_below"), (QUARANTINE, "quarantine_below")):
        limit = policy.get("fluency", key)
        if not _off(limit) and value < limit:
            message = f"article fluency {value:.1f} is below {limit:g} (0-100 scale)"
            return GateReason(decision, "low-fluency", message)
    return KEEP


def critical_flags(report: Report, policy: Policy) -> GateReason | None:
    n = int(report.scores.critical or 0)
    quote = policy.get("reasons", "quote_flags") or 0
    for decision, key in ((REJECT, "reject_at"), (QUARANTINE, "quarantine_at")):
        limit = policy.get("critical", key)
        if not _off(limit) and limit > 0 and n >= limit:
            spans = _quote(report.flags, quote)  # the critical ones first, then the major ones
            return GateReason(decision, "critical-flags", f"{n} critical flags (limit {limit}); flagged: {spans}")
    return KEEP


def flag_density(report: Report, policy: Policy) -> GateReason | None:
    quote = policy.get("reasons", "quote_flags") or 0
    for decision, suffix in ((REJECT, "reject_above"), (QUARANTINE, "quarantine_above")):
        for severity in WORST_FIRST:
            limit = policy.values["density"].get(f"{severity}_{suffix}", False)  # not every severity has one
            rate = per_1k(report, severity)
            if not _off(limit) and words(report) and rate > limit:
                spans = _quote(report.flags, quote, (severity, Severity.CRITICAL))
                return GateReason(
                    decision,
                    f"{severity}-flag-density",
                    f"{rate:.1f} {severity} flags per 1,000 words (limit {limit:g}): {spans}",
                )
    return KEEP


def _above(
    report: Report, policy: Policy, section: str, value: float | None, code: str, says: Callable[[float, float], str]
) -> GateReason | None:
    """Reject or quarantine when an article score is above the section's limits, quoting the worst flags."""
    if value is None:
        return KEEP
    quote = policy.get("reasons", "quote_flags") or 0
    for decision, key in ((REJECT, "reject_above"), (QUARANTINE, "quarantine_above")):
        limit = policy.get(section, key)
        if not _off(limit) and value > limit:
            spans = _quote(report.flags, quote)
            return GateReason(decision, code, says(value, limit) + (f": {spans}" if spans else ""))
    return KEEP


def predicted_bad(report: Report, policy: Policy) -> GateReason | None:
    return _above(
        report,
        policy,
        "predicted_bad",
        report.scores.predicted_bad,
        "predicted-bad",
        lambda v, limit: f"the detector expects {v:.0%} of words to be wrong (limit {limit:.0%})",
    )


def bad_words_per_sentence(report: Report, policy: Policy) -> GateReason | None:
    return _above(
        report,
        policy,
        "bad_words_per_sentence",
        report.scores.bad_words_per_sentence,
        "bad-words-per-sentence",
        lambda v, limit: (
            f"the article reads like machine translation with errors: {v:.1f} words in error "
            f"expected per sentence (limit {limit:.1f}; human-written news reads lower)"
        ),
    )


def bad_words_worst_fifth(report: Report, policy: Policy) -> GateReason | None:
    return _above(
        report,
        policy,
        "bad_words_worst_fifth",
        report.scores.bad_words_worst_fifth,
        "bad-words-worst-fifth",
        lambda v, limit: (
            f"the article reads like machine translation with errors: a fifth of its sentences are expected to "
            f"hold {v:.1f} or more words in error (limit {limit:.1f}; human-written news reads lower)"
        ),
    )


CHECKS: tuple[Check, ...] = (
    boilerplate_only,
    too_short,
    language,
    fluency,
    critical_flags,
    flag_density,
    predicted_bad,
    bad_words_per_sentence,
    bad_words_worst_fifth,
)


def most_severe_first(reasons: list[GateReason]) -> list[GateReason]:
    """A new list, reject before quarantine (stable: the checks' order within a decision)."""
    return sorted(reasons, key=lambda r: -SEVERITY[r.decision])


def decision_of(reasons: list[GateReason]) -> str:
    """The most severe reason's decision; accept when there is none."""
    return max((r.decision for r in reasons), key=SEVERITY.__getitem__, default=ACCEPT)


def decide(report: Report, policy: Policy, checks: tuple[Check, ...] = CHECKS) -> tuple[str, list[GateReason]]:
    """Run every check; the decision is the most severe reason's, accept when there is none."""
    reasons = most_severe_first([r for r in (check(report, policy) for check in checks) if r is not None])
    return decision_of(reasons), reasons


def scores_of(report: Report) -> dict:
    """The figures the decision rests on, for the outputs and the audit log."""
    s = report.scores
    return {
        "fluency": s.fluency,
        "predicted_bad": s.predicted_bad,
        "bad_words_per_sentence": s.bad_words_per_sentence,
        "bad_words_worst_fifth": s.bad_words_worst_fifth,
        "words": words(report),
        "flags": s.flags,
        "critical": s.critical,
        "major": s.major,
        "minor": s.minor,
        "critical_per_1k": round(per_1k(report, Severity.CRITICAL), 2),
        "major_per_1k": round(per_1k(report, Severity.MAJOR), 2),
        "minor_per_1k": round(per_1k(report, Severity.MINOR), 2),
    }
