"""The closed vocabularies that stages exchange: reason codes and severities. String-valued enums, so that a
report's JSON carries the plain strings and a comparison with a string still holds."""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Why a span was flagged: one per rule or signal (README, "How detection works")."""

    DOUBLED_PUNCTUATION = "doubled-punctuation"
    BROKEN_BOUNDARY = "broken-boundary"
    MIDSENTENCE_CAPITAL = "midsentence-capital"
    STRAY_PRONOUN = "stray-pronoun"
    TRUNCATED_SENTENCE = "truncated-sentence"
    BRACKETED_INSERTION = "bracketed-insertion"
    UNBALANCED_QUOTE = "unbalanced-quote"
    UNTRANSLATED = "untranslated"
    CALQUE = "calque"
    REPEATED_PHRASE = "repeated-phrase"
    EDIT_GAIN = "edit-gain"
    LM_SPIKE = "lm-spike"
    LEARNED = "learned"


# MT-artifact rules: strong evidence when a second signal agrees (detect/severity.py) ...
ARTIFACT_RULES = frozenset(
    {
        Code.DOUBLED_PUNCTUATION,
        Code.BROKEN_BOUNDARY,
        Code.MIDSENTENCE_CAPITAL,
        Code.STRAY_PRONOUN,
        Code.BRACKETED_INSERTION,
        Code.UNTRANSLATED,
        Code.CALQUE,
        Code.REPEATED_PHRASE,
    }
)
# ... and those that are a failure by themselves.
SELF_EVIDENT_RULES = frozenset({Code.BROKEN_BOUNDARY, Code.UNTRANSLATED, Code.REPEATED_PHRASE})
# The model's evidence that a span reads oddly, naming no fault (the rules name theirs: a boundary, a capital).
MODEL_EVIDENCE = frozenset({Code.EDIT_GAIN, Code.LM_SPIKE, Code.LEARNED})
# Reasons that describe a whole sentence; merging them with local hits would make flags sentence-long.
STANDALONE = frozenset({Code.UNBALANCED_QUOTE})


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 minor, 1 major, 2 critical: for sorting and for "at least major"."""
        return SEVERITY_ORDER.index(self)

    def at_least(self, other: Severity | str) -> bool:
        return self.rank >= Severity(other).rank


SEVERITY_ORDER = (Severity.MINOR, Severity.MAJOR, Severity.CRITICAL)
WORST_FIRST = tuple(reversed(SEVERITY_ORDER))
