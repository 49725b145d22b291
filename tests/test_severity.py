"""Severity: major needs a strong signal (one that rarely fires on human English), critical needs independent
signals that agree; evidence alone does not make a flag major. Flags are made by the detector's own `combine`,
so their evidence is the product's 1 - prod(1 - c), not a copy of it."""

from __future__ import annotations

import pytest

from mtcheck.core.codes import Code
from mtcheck.core.types import Hit
from mtcheck.detect.severity import combine, combined_evidence, severity
from mtcheck.reading import text_article

ARTICLE = text_article("Talks end\n\nThe words here are all in one sentence of the article.")
START = ARTICLE.text.index("words")


def graded(*hits: Hit, learned_pooled: float | None = None) -> str:
    (group,) = combine(ARTICLE, list(hits))
    return severity(group, learned_pooled)


def hit(code: str, confidence: float, weight: float = 1.5) -> Hit:
    return Hit(START, START + 5, Code(code), "m", confidence, weight)


def test_evidence_combines_distinct_reasons_as_if_independent():
    (flag,) = combine(ARTICLE, [hit("edit-gain", 0.5), hit("calque", 0.5)])
    assert flag.evidence == pytest.approx(0.75)
    # a second hit of the same signal is not independent evidence: the strongest one counts
    assert combined_evidence([hit("edit-gain", 0.5), hit("edit-gain", 0.6)]) == pytest.approx(0.6)
    assert [r.code for r in flag.reasons] == ["edit-gain", "calque"]


def test_overlapping_hits_merge_into_one_flag_and_separate_ones_do_not():
    other = ARTICLE.text.index("sentence")
    flags = combine(ARTICLE, [hit("edit-gain", 0.5), hit("calque", 0.5), Hit(other, other + 8, Code.CALQUE, "m", 0.5)])
    assert [(f.start, f.end) for f in flags] == [(START, START + 5), (other, other + 8)]
    assert [len(f.hits) for f in flags] == [2, 1]


def test_the_learned_detector_alone_is_major_only_when_it_is_very_sure():
    assert graded(hit("learned", 0.7, 1.0), learned_pooled=0.7) == "minor"
    assert graded(hit("learned", 0.9, 1.0), learned_pooled=0.9) == "major"


def test_an_edit_gain_is_major_only_above_the_strong_confidence():
    assert graded(hit("edit-gain", 0.9)) == "minor"
    assert graded(hit("edit-gain", 0.97)) == "major"


def test_an_artifact_rule_needs_a_second_signal_unless_it_is_a_failure_by_itself():
    assert graded(hit("doubled-punctuation", 0.9)) == "minor"
    assert graded(hit("doubled-punctuation", 0.9), hit("lm-spike", 0.3, 0.5)) == "major"
    assert graded(hit("broken-boundary", 0.92, 2.0)) == "major"
    assert graded(hit("untranslated", 0.85)) == "major"


def test_weak_evidence_stays_minor_whatever_its_source():
    assert graded(hit("midsentence-capital", 0.3), hit("lm-spike", 0.2, 0.5)) == "minor"


def test_independent_strong_signals_that_agree_are_critical():
    assert graded(hit("stray-pronoun", 0.85), hit("edit-gain", 0.97), hit("learned", 0.3, 1.0)) == "critical"
    assert graded(hit("edit-gain", 0.99), hit("learned", 0.3, 1.0)) == "major"  # weight 2.5 < 3
