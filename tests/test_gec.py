"""The GEC libraries behind `mtcheck/correct/gec.py`: the real quire-grammar-model tagger (ONNX) and Harper."""

from __future__ import annotations

import sys

import pytest

from mtcheck.core.errors import MtcheckError
from mtcheck.correct.gec import HarperLinter, QuireTagger, _diff_edit, apply_edits


@pytest.fixture(scope="module")
def quire() -> QuireTagger:
    return QuireTagger()


@pytest.fixture(scope="module")
def harper() -> HarperLinter:
    return HarperLinter()


def test_edits_apply_in_reading_order_and_an_overlapping_one_is_dropped() -> None:
    s = "They was happy with the the result."
    assert apply_edits(s, [(20, 24, ""), (5, 8, "were")]) == "They were happy with the result."
    assert apply_edits(s, [(5, 8, "were"), (6, 9, "xx")]) == "They were happy with the the result."
    assert _diff_edit("an test", "a test") == (1, 2, "")
    assert _diff_edit("He go", "He goes") == (5, 5, "es")


def test_the_tagger_fixes_agreement_and_a_doubled_word_in_one_reading(quire: QuireTagger) -> None:
    s = "They was happy with the the result."
    assert quire.correct(s) == "They were happy with the result."
    groups = quire.proposals(s)
    assert all(len(g) == 1 for g in groups)  # a tagger proposes one reading
    assert (5, 8, "were") in [g[0] for g in groups]
    assert quire.proposals("The talks resumed in Geneva on Monday.") == []  # correct text: no edit


def test_harper_offers_its_suggestions_as_edits(harper: HarperLinter) -> None:
    s = "This is an test of the the system."
    assert harper.correct(s) == "This is a test of the system."
    for group in harper.proposals(s):
        for start, end, _replacement in group:
            assert 0 <= start <= end <= len(s)


def test_harper_is_shared_by_threads(harper: HarperLinter) -> None:
    """`check --jobs N` shares one corrector between threads; a bare Harper Linter refuses concurrent calls."""
    from concurrent.futures import ThreadPoolExecutor

    s = "This is an test of the the system."
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _n: harper.correct(s), range(200)))
    assert set(results) == {"This is a test of the system."}


def test_a_missing_library_is_a_one_line_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "harper", None)  # import harper raises ImportError
    with pytest.raises(MtcheckError, match=r"Harper needs harper-py .*pip install harper-py"):
        HarperLinter()


@pytest.mark.model
def test_the_corrector_ranks_the_libraries_edits_beside_its_own(checker) -> None:
    """A flag over a broken agreement gets the libraries' fix ("were"), ranked by the LM in context and passed
    by the guards; with the libraries off, no candidate of theirs."""
    from mtcheck.core.codes import Code, Severity
    from mtcheck.core.types import Flag, Reason
    from mtcheck.correct.corrector import Corrector, CorrectorSettings
    from mtcheck.reading.formats import line_article

    line = "The ministers said that they was ready to meet again in Geneva next week."
    article = line_article(line, 0, "t")
    at = line.index("they was")
    flag = Flag(at, at + len("they was"), "they was", Severity.MINOR, 0.6, (Reason(Code.LEARNED, "test"),))
    on = Corrector(checker.lm, CorrectorSettings(similarity=False))
    (got,) = on.suggest(article, [flag])
    gec = [s for s in got.suggestions if s.source == "gec"]
    assert gec and gec[0].sentence == line.replace("they was", "they were")
    assert got.suggestions[0].sentence == line.replace("they was", "they were")
    assert "gec:quire+harper" in on.signature().short()
    off = Corrector(checker.lm, CorrectorSettings(similarity=False, gec=False))
    (without,) = off.suggest(article, [flag])
    assert all(s.source != "gec" for s in without.suggestions) and "gec:off" in off.signature().short()
