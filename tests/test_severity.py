"""Severity: major needs a strong signal (one that rarely fires on human English), critical needs independent
signals that agree; evidence alone does not make a flag major."""

from __future__ import annotations

from mtcheck.core.types import Hit
from mtcheck.detect.detector import Flag, severity


def graded(*hits: Hit, learned_pooled: float | None = None) -> str:
    miss = 1.0
    for h in hits:
        miss *= 1.0 - h.confidence
    flag = Flag(0, 5, "words", "minor", 0.5, [], evidence=1.0 - miss, hits=list(hits))
    flag.learned_pooled = learned_pooled
    return severity(flag)


def hit(code: str, confidence: float, weight: float = 1.5) -> Hit:
    return Hit(0, 5, code, "m", confidence, weight)


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
