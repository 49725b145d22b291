"""The typed core: the report contract, the signature, severities and the one atomic writer."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import FrozenInstanceError

import pytest

from mtcheck.core.codes import SEVERITY_ORDER, Severity
from mtcheck.core.errors import MtcheckError
from mtcheck.core.files import atomic_write, read_json
from mtcheck.core.report import SCHEMA, Report
from mtcheck.core.signature import Signature
from mtcheck.detect.detector import Detector
from reports import flag_json, make_report

TEXT = "Talks end\n\nThe sides met on Wednesday. between Russia and NATO. It was our sovereign right. . We went on."


def report() -> Report:
    flags = [flag_json(TEXT, "Wednesday. between", "critical"), flag_json(TEXT, "right. .", "minor")]
    return make_report(TEXT, flags)


def test_a_report_survives_its_json_and_back():
    r = report()
    data = json.loads(json.dumps(r.to_json()))
    assert Report.from_json(data) == r
    assert data["schema"] == SCHEMA and [f["id"] for f in data["flags"]] == ["f1", "f2"]
    assert r.scores.critical == 1 and r.scores.minor == 1 and r.flag("f2").text == "right. ."


def test_word_tags_survive_the_json_and_tag_words_from_their_threshold():
    from dataclasses import replace

    from mtcheck.core.report import WordTags

    tags = WordTags(0.4, ((0, 5, 0.12), (11, 16, 0.4), (17, 20, 0.91)))
    r = replace(report(), word_tags=tags)
    data = json.loads(json.dumps(r.to_json()))
    assert data["word_tags"] == {"threshold": 0.4, "words": [[0, 5, 0.12], [11, 16, 0.4], [17, 20, 0.91]]}
    assert Report.from_json(data) == r
    assert Report.from_json(data).word_tags.bad() == [(11, 16), (17, 20)]
    assert "word_tags" not in report().to_json()  # a report without tags reads back without them
    assert Report.from_json(report().to_json()).word_tags is None


def test_keys_a_reader_does_not_know_are_ignored():
    data = report().to_json() | {"gate": {"decision": "accept"}}
    assert Report.from_json(data) == report()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(schema="mtcheck.report/2"), "newer than this mtcheck reads"),
        (lambda d: d.update(schema="other/1"), "not an mtcheck report"),
        (lambda d: d.pop("flags"), "not a valid"),
        (lambda d: d["article"].pop("text"), "not a valid"),
        (lambda d: d["flags"][0].pop("start"), "not a valid"),
    ],
)
def test_a_report_that_is_not_one_is_refused_in_one_line(change, message):
    data = report().to_json()
    change(data)
    with pytest.raises(MtcheckError, match=message) as caught:
        Report.from_json(data, where="r.json")
    assert str(caught.value).startswith("r.json: ") and "\n" not in str(caught.value)


def test_values_between_stages_are_frozen():
    r = report()
    with pytest.raises(FrozenInstanceError):
        r.flags[0].severity = Severity.MINOR  # type: ignore[misc]
    assert r.with_flags([]).flags == () and len(r.flags) == 2


def test_severities_order_and_compare_with_their_names():
    assert [s.rank for s in SEVERITY_ORDER] == [0, 1, 2]
    assert Severity.CRITICAL.at_least("major") and not Severity.MINOR.at_least(Severity.MAJOR)
    assert Severity("major") == "major" and report().flags_at_least("major")[0].text == "Wednesday. between"


def test_the_signature_has_a_short_and_a_long_form():
    sig = Signature.of(("detector", "rules"), ("slor", 4.0)) + Signature.of(("model", "m@abc"), prefix="mtcheck")
    assert sig.short() == "mtcheck:detector:rules|slor:4.0|model:m@abc"
    assert sig.long().splitlines() == ["detector  rules", "slor      4.0", "model     m@abc"]
    assert sig.get("slor") == "4.0" and sig.to_json()["model"] == "m@abc"


def test_the_detectors_signature_names_every_edit_gain_setting():
    detector = Detector(None)
    fields = dict(detector.signature().fields)
    s = detector.settings
    assert fields["slor"] == str(s.candidate_slor) and fields["cands"] == str(s.max_candidates)
    assert fields["gain"] == f"{s.min_gain}/{s.gain_midpoint}/{s.gain_scale}"
    assert fields["tagger"].startswith("none") and fields["severity"].startswith("strong-p")


def test_atomic_write_replaces_whole_files_with_ordinary_permissions(tmp_path):
    target = tmp_path / "sub" / "out.json"
    atomic_write(target, "one")
    atomic_write(target, b"two")
    assert target.read_text() == "two" and [p.name for p in target.parent.iterdir()] == ["out.json"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask  # not mkstemp's private 0600
    source = tmp_path / "source.txt"
    source.write_text("x")
    os.chmod(source, 0o640)
    atomic_write(target, "three", like=source)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_read_json_names_the_file_and_the_cause(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(MtcheckError, match=r"bad.json: not a report \(invalid JSON at line 1\)"):
        read_json(bad, "report")
    with pytest.raises(MtcheckError, match="no such decisions file"):
        read_json(tmp_path / "missing.json", "decisions file")


def test_the_article_p_bad_is_a_mean_over_words_with_the_headline_aside():
    """A long sentence weighs its words, a short one its few; the headline counts only when it is all there is."""
    import re

    from mtcheck.detect.detector import Detection
    from mtcheck.reading import text_article
    from mtcheck.report.build import article_predicted_bad

    text = "Talks end badly\n\nThe sides met on Wednesday in Vienna. It failed."
    article = text_article(text, path="t.txt", id="t")
    assert [s.kind for s in article.segments] == ["title", "sentence", "sentence"]
    p = {"title": 0.9, "sentence": 0.1}
    word_bad = []  # (start, end, P(BAD), pooled P)
    for s in article.segments:
        for m in re.finditer(r"\w+", text[s.start : s.end]):
            word_bad.append((s.start + m.start(), s.start + m.end(), p[s.kind], 0.0))
    word_bad[-2:] = [(a, b, 0.7, q) for a, b, _p, q in word_bad[-2:]]  # "It failed."
    # seven body words at 0.1 and two at 0.7: 0.2333, not the sentences' mean 0.4, and the headline's 0.9 left out
    detection = Detection([], [0.9, 0.1, 0.7], word_bad)
    assert article_predicted_bad(article, detection) == pytest.approx(0.2333)
    headline_only = text_article("Talks end badly", path="h.txt", id="h")
    assert article_predicted_bad(headline_only, Detection([], [0.9], word_bad[:3])) == pytest.approx(0.9)
    assert article_predicted_bad(article, Detection([], [0.9, 0.1, 0.7])) == pytest.approx(0.5667)  # no words


def _segment_word_scores(article, per_segment) -> list[tuple[int, int, float]]:
    """(start, end, P) of every word, P given per segment (the headline first)."""
    import re

    return [
        (s.start + m.start(), s.start + m.end(), per_segment[n])
        for n, s in enumerate(article.segments)
        for m in re.finditer(r"\w+", article.text[s.start : s.end])
    ]


def test_bad_words_per_sentence_is_the_score_heads_expected_count_per_body_sentence():
    """Summed over the words of each body sentence, averaged over the sentences: the headline aside; none
    without a score head."""
    from mtcheck.detect.detector import Detection
    from mtcheck.reading import text_article
    from mtcheck.report.build import article_bad_words_per_sentence

    text = "Talks end badly\n\nThe sides met on Wednesday in Vienna. It failed."
    article = text_article(text, path="t.txt", id="t")
    p = {0: 0.9, 1: 0.1, 2: 0.8}  # per segment: the headline, 7 words, 2 words
    detection = Detection([], [None] * 3, word_score=_segment_word_scores(article, p))
    # (7 x 0.1 + 2 x 0.8) / 2 sentences = 1.15; the headline's 3 x 0.9 left out
    assert article_bad_words_per_sentence(article, detection) == pytest.approx(1.15)
    assert article_bad_words_per_sentence(article, Detection([], [None] * 3)) is None


def test_bad_words_worst_fifth_is_the_80th_percentile_of_the_body_sentences_counts():
    """The count a fifth of the body sentences reach, linear between neighbours; the headline aside; none
    without a score head."""
    from mtcheck.detect.detector import Detection
    from mtcheck.reading import text_article
    from mtcheck.report.build import article_bad_words_per_sentence, article_bad_words_worst_fifth

    body = ["The sides met on Wednesday in Vienna.", "It failed.", "Talks resume soon.", "Nobody came.",
            "A list of every delegate who spoke that day at the long meeting ran on and on."]  # fmt: skip
    text = "Talks end badly\n\n" + " ".join(body)
    article = text_article(text, path="t.txt", id="t")
    per_word = [0.9, 0.1, 0.5, 0.2, 0.3, 0.6]  # the headline, then each body sentence
    detection = Detection([], [None] * 6, word_score=_segment_word_scores(article, per_word))
    # body counts 7 x 0.1, 2 x 0.5, 3 x 0.2, 2 x 0.3, 17 x 0.6 = 0.7, 1.0, 0.6, 0.6, 10.2; sorted 0.6 0.6 0.7 1.0
    # 10.2: the 80th percentile lies at 3.2 of 4 steps, 1.0 + 0.2 x 9.2 = 2.84 (the mean, 2.62, follows the list)
    assert article_bad_words_worst_fifth(article, detection) == pytest.approx(2.84)
    assert article_bad_words_per_sentence(article, detection) == pytest.approx(2.62)
    one = text_article("Talks end badly\n\nIt failed.", path="o.txt", id="o")
    words = _segment_word_scores(one, [0.5, 0.5])
    assert article_bad_words_worst_fifth(one, Detection([], [None] * 2, word_score=words)) == pytest.approx(1.0)
    assert article_bad_words_worst_fifth(article, Detection([], [None] * 6)) is None
