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
