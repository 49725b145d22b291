"""An MT decoding loop is flagged and its top suggestion keeps one copy of the repeated phrase (real model)."""

from __future__ import annotations

import pytest

from mtcheck.reading.formats import line_article


@pytest.mark.model
def test_a_translation_loop_is_flagged_and_its_repeats_dropped(checker):
    line = "The factory is located in Shaya, Xinjiang Shaya, Xinjiang Shaya, Xinjiang Shaya, Xinjiang, China."
    (report,) = checker.check_lines([line_article(line, 0, "t")])
    loops = [f for f in report.flags if "repeated-phrase" in f.codes]
    assert loops and loops[0].severity in ("major", "critical")
    top = loops[0].suggestions[0]
    assert top.sentence == "The factory is located in Shaya, Xinjiang, China."
    assert top.source == "rule"
    text = report.article.text
    assert text[: top.start] + top.replacement + text[top.end :] == top.sentence


@pytest.mark.model
def test_the_gates_corrector_leaves_minor_flags_without_suggestions(checker):
    """`correct_from="major"` (the gate): a major flag gets its suggestions, the same span graded minor none."""
    from dataclasses import replace

    from mtcheck.core.codes import Severity
    from mtcheck.correct.corrector import Corrector, CorrectorSettings

    line = "The factory is located in Shaya, Xinjiang Shaya, Xinjiang Shaya, Xinjiang Shaya, Xinjiang, China."
    article = line_article(line, 0, "t")
    (report,) = checker.check_lines([article])
    loop = next(f for f in report.flags if "repeated-phrase" in f.codes)
    major = replace(loop, severity=Severity.MAJOR, suggestions=())
    minor = replace(loop, severity=Severity.MINOR, suggestions=())
    corrector = Corrector(checker.lm, CorrectorSettings(rewrite=False, min_severity=Severity.MAJOR))
    got_major, got_minor = corrector.suggest(article, [major, minor])
    assert (
        got_major.suggestions
        and got_major.suggestions[0].sentence == "The factory is located in Shaya, Xinjiang, China."
    )
    assert got_minor.suggestions == () and got_minor.severity == "minor"
    assert "for:major" in corrector.signature().short()


@pytest.mark.model
def test_a_gloss_repeating_its_sentences_word_is_dropped_first(checker):
    """Dropping "[unemployment]" before "unemployment" loses no word: no unigram charge for rare words removed."""
    from mtcheck.reading import text_article

    line = "Official figures showed that the [unemployment] unemployment rate fell to its lowest level in May."
    report = checker.check(text_article("Jobs\n\n" + line + "\n", path="t.txt", id="t"))
    gloss = [f for f in report.flags if "[unemployment]" in f.text]
    assert gloss and gloss[0].suggestions
    top = gloss[0].suggestions[0]
    assert " ".join(top.sentence.split()) == line.replace("[unemployment] ", "")
    assert top.source == "rule"
