"""A suggestion's own confidence (correct/confidence.py): its features, the shipped model, and who uses it."""

from __future__ import annotations

import json

import pytest

from mtcheck.core.codes import Code, Severity
from mtcheck.core.types import FixSource, Flag, Reason, Suggestion
from mtcheck.correct import confidence as conf
from mtcheck.correct.corrector import apply_top, sureness

TEXT = "He has got to a situation where the talks go on."


def _suggestion(start: int, end: int, replacement: str, gain: float, source=FixSource.EDIT, confidence=None):
    return Suggestion(start, end, replacement, "", 0, gain, source, "why", confidence=confidence)


def _flag(codes=(Code.LEARNED,), confidence=0.7, severity=Severity.MINOR, suggestions=()):
    reasons = tuple(Reason(c, "m") for c in codes)
    return Flag(11, 15, TEXT[11:15], severity, confidence, reasons, suggestions=tuple(suggestions))


def test_features_see_a_deletion_from_a_learned_flag_and_the_margin_over_the_next():
    drop_to = _suggestion(11, 14, "", 8.5)
    other = _suggestion(11, 15, "into", 2.0)
    x = dict(zip(conf.FEATURES, conf.features(_flag(), [drop_to, other], 1, TEXT), strict=True))
    assert x["deletes_only"] == 1.0 and x["inserts_only"] == 0.0 and x["learned_only"] == 1.0
    assert x["margin"] == pytest.approx(__import__("math").log1p(6.5))
    second = dict(zip(conf.FEATURES, conf.features(_flag(), [drop_to, other], 2, TEXT), strict=True))
    assert second["rank"] == 2.0 and second["deletes_only"] == 0.0 and second["margin"] == pytest.approx(1.0986, 1e-3)
    stop = _suggestion(0, 2, "he", 3.0, FixSource.RULE)
    y = dict(zip(conf.FEATURES, conf.features(_flag((Code.BROKEN_BOUNDARY,)), [stop], 1, TEXT), strict=True))
    assert y["punctuation_only"] == 1.0 and y["source_rule"] == 1.0 and y["learned_only"] == 0.0


def test_the_model_rates_each_suggestion_and_refuses_other_features(tmp_path, monkeypatch):
    d = len(conf.FEATURES)
    weights = [0.0] * d
    weights[conf.FEATURES.index("deletes_only")] = -3.0
    model = {"features": list(conf.FEATURES), "weights": weights, "bias": 1.0, "means": [0.0] * d, "scales": [1.0] * d}
    (tmp_path / "m.suggestion.json").write_text(json.dumps(model))
    monkeypatch.setattr(conf, "DETECTOR_DIR", tmp_path)
    loaded = conf.SuggestionConfidence.for_model("m")
    rated = loaded.rate(_flag(), [_suggestion(11, 14, "", 8.5), _suggestion(11, 15, "into", 2.0)], TEXT)
    assert rated[0].confidence < 0.2 < 0.7 < rated[1].confidence  # the deletion doubted, the substitution not
    (tmp_path / "old.suggestion.json").write_text(json.dumps({**model, "features": ["flag_confidence"]}))
    assert conf.SuggestionConfidence.for_model("old") is None
    assert conf.SuggestionConfidence.for_model("none") is None


def test_a_suggestions_confidence_survives_the_report_and_overrides_its_flags():
    sure = _suggestion(11, 14, "", 8.5, confidence=0.2)
    assert Suggestion.from_json(sure.to_json()).confidence == 0.2
    flag = _flag(confidence=0.9, suggestions=[sure])
    assert sureness(flag, sure) == 0.2
    assert apply_top(TEXT, [flag]) == (TEXT, 0)  # the flag is sure, its repair is not: nothing applied
    unrated = _suggestion(11, 14, "", 8.5)
    assert sureness(_flag(confidence=0.9), unrated) == 0.9
    assert apply_top(TEXT, [_flag(confidence=0.9, suggestions=[unrated])])[1] == 1


def test_the_default_model_ships_a_suggestion_model():
    assert conf.SuggestionConfidence.for_model("smollm2-135m") is not None
