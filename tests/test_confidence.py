"""Flag confidence calibration: the isotonic fit, the map, and a fit from eval records with known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtcheck.core.metrics import fit_platt, isotonic
from mtcheck.detect.confidence import ConfidenceMap
from mtcheck.training.fit_confidence import fit


def test_isotonic_pools_violators_into_their_mean():
    x, y = isotonic(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.0, 1.0, 0.0, 1.0]), min_block=1)
    assert y == sorted(y)  # monotone
    assert y == pytest.approx([0.0, 0.5, 1.0])  # 0.2 and 0.3 pooled
    assert x == pytest.approx([0.1, 0.25, 0.4])


def test_isotonic_pools_knots_with_too_few_words_into_a_neighbour():
    x = np.array([0.1] * 60 + [0.5] * 3 + [0.9] * 60)
    y = np.array([0.0] * 60 + [1.0, 0.0, 0.0] + [1.0] * 60)
    assert len(isotonic(x, y, min_block=1)[0]) == 3  # monotone already: three knots
    kx, ky = isotonic(x, y, min_block=50)
    assert len(kx) == 2 and ky == sorted(ky)  # the 3-word knot at 0.5 is pooled into a neighbour
    assert ky[0] == pytest.approx(0.0) and ky[1] == pytest.approx(61 / 63)


def test_map_interpolates_and_is_flat_outside_its_knots():
    cmap = ConfidenceMap({"x": [0.5, 0.9], "y": [0.2, 0.6]})
    assert cmap(0.7) == pytest.approx(0.4)
    assert cmap(0.1) == pytest.approx(0.2) and cmap(1.0) == pytest.approx(0.6)
    assert ConfidenceMap(None)(0.77) == 0.77  # no curve: the evidence itself


def test_fit_from_records_gives_the_bad_share_under_flags(tmp_path):
    """Two sentences; flags of evidence 0.9 cover 3 words of which 1 is BAD; flags of 0.5 cover 2 OK words."""
    line = {"mt_tok": "a b c d e f", "mt_word_tags": ["BAD", "OK", "OK", "OK", "OK", "OK"]}
    evals, records = tmp_path / "eval", tmp_path / "records"
    evals.mkdir()
    records.mkdir()
    (evals / "mlqe-pe.xx-en.dev.jsonl").write_text((json.dumps(line) + "\n") * 2)
    flags = [{"start": 0, "end": 5, "confidence": 0.2, "evidence": 0.9}, {"start": 6, "end": 9, "evidence": 0.5}]
    flags[1]["confidence"] = 0.1
    rec = [{"index": i, "flags": flags} for i in range(2)]
    (records / "mlqe-pe.xx-en.dev.records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rec))
    knots = fit(records, evals, min_block=1, min_source_words=1, min_source_sentences=1)
    assert set(knots) == {"xx", "pooled"}
    cmap = ConfidenceMap(knots["xx"])
    assert cmap(0.9) == pytest.approx(1 / 3)  # the raw evidence, not the old confidence, is what is mapped
    assert cmap(0.5) == pytest.approx(0.0)
    assert knots["xx"]["words"] == 10
    # a source with too few flagged words gets no curve of its own: it falls back to the pooled one
    sparse = fit(records, evals, min_block=1, min_source_words=11, min_source_sentences=1)
    assert "xx" not in sparse and sparse["pooled"]["words"] == 10
    # a source with too few flagged sentences (2 here) keeps the raw evidence: an empty curve of its own
    few = fit(records, evals, min_block=1, min_source_words=1, min_source_sentences=3)
    assert few["xx"]["x"] == [] and few["xx"]["sentences"] == 2
    assert ConfidenceMap(few["xx"])(0.9) == pytest.approx(0.9)


def test_a_source_with_train_records_is_fitted_on_them_and_the_pooled_curve_on_dev(tmp_path):
    """Records of held-out train lines (`eval --skip-trained`) fit their source's curve; dev records still fit
    the pooled curve, and the source's dev records no longer shape its own curve."""
    line = {"mt_tok": "a b c d", "mt_word_tags": ["BAD", "BAD", "OK", "OK"]}
    evals, records = tmp_path / "eval", tmp_path / "records"
    evals.mkdir()
    records.mkdir()
    for name in ("wmt22qe.zh-en.dev2022", "wmt22qe.zh-en.train2021news"):
        (evals / f"{name}.jsonl").write_text((json.dumps(line) + "\n") * 4)
    # dev: the flag covers the two OK words; train: the two BAD words
    dev = [{"index": i, "flags": [{"start": 4, "end": 7, "confidence": 0.8, "evidence": 0.8}]} for i in range(4)]
    train = [{"index": i, "flags": [{"start": 0, "end": 3, "confidence": 0.8, "evidence": 0.8}]} for i in range(4)]
    for name, rec in (("wmt22qe.zh-en.dev2022", dev), ("wmt22qe.zh-en.train2021news", train)):
        (records / f"{name}.records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rec))
    knots = fit(records, evals, min_block=1, min_source_words=1, min_source_sentences=1)
    assert knots["zh"]["fitted_on"] == "train" and knots["zh"]["sentences"] == 4
    assert ConfidenceMap(knots["zh"])(0.8) == pytest.approx(1.0)  # the train lines' BAD share
    assert ConfidenceMap(knots["pooled"])(0.8) == pytest.approx(0.0)  # dev only
    # the dev halves of the held-out check shrink the dev minimums, not the train ones
    half = fit(records, evals, every=2, offset=0, min_block=1, min_source_words=1, min_source_sentences=5)
    assert half["zh"]["x"] == [] and half["zh"]["sentences"] == 4


def test_platt_recovers_the_slope_and_intercept_whatever_the_logits_scale():
    """Plain Newton from (1, 0) ran to 1e10 on logits far from the labels' scale (an article head's raw
    logits); the fit must find the same calibration whatever affine scale the logits come in."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(2 * z - 1)))).astype(float)
    a, b = fit_platt(z, y)
    assert abs(a - 2) < 0.2 and abs(b + 1) < 0.15
    a2, b2 = fit_platt(50 * z + 300, y)  # the same logits, scaled and shifted
    assert abs(a2 * 50 - a) < 1e-3 and abs(b2 + 300 * a2 - b) < 1e-3


def test_the_article_curve_reads_each_flag_against_the_raters_spans(tmp_path):
    """Article records: each flag of a rated article is a point, its raw evidence against the share of its words
    that a rater's span covers; unrated articles (English-original) are left out."""
    from mtcheck.training.fit_confidence import article_flags, fit_article_curve

    text = "The cat sat on the mat. He go home."
    rated = {"id": "a", "text": text, "doc": "d1", "who": "sysA", "errors": [{"start": 24, "end": 29,
             "severity": "major", "category": "Fluency/Grammar", "rater": "r1"}],
             "segments": [{"start": 0, "end": 35, "penalty": 5.0}]}  # fmt: skip
    human = {"id": "h", "text": text, "doc": "d1", "who": "original", "human": True}
    (tmp_path / "arts").mkdir()
    (tmp_path / "arts" / "f.jsonl").write_text(json.dumps(rated) + "\n" + json.dumps(human) + "\n")
    (tmp_path / "rec").mkdir()
    flags = [[4, 11, "minor"], [24, 29, "major"], [27, 34, "minor"]]  # "cat sat", "He go", "go home"
    rows = [{"id": "a", "flags": flags, "flag_evidence": [0.3, 0.9, 0.5]},
            {"id": "h", "flags": [[0, 3, "minor"]], "flag_evidence": [0.7]}]  # fmt: skip
    (tmp_path / "rec" / "f.articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    [(doc, evidence, wrong)] = article_flags(tmp_path / "rec", tmp_path / "arts")
    assert doc == "d1"
    assert list(evidence) == [0.3, 0.9, 0.5]
    assert list(wrong) == [0.0, 1.0, 0.5]  # "go home": go on the error, home not
    curve = fit_article_curve([(doc, evidence, wrong)], min_block=1)
    assert curve["flags"] == 3
    assert ConfidenceMap(curve)(0.3) == 0.0 and ConfidenceMap(curve)(0.9) == 1.0
    assert ConfidenceMap(curve)(0.5) == 0.5
