"""MT-artifact rules on hand-made lines."""

from __future__ import annotations

from mtcheck.detecting.rules import run_rules
from mtcheck.reading import line_article


def test_a_stop_after_an_abbreviation_is_not_doubled_punctuation():
    def doubled(text: str) -> bool:
        return any(h.code == "doubled-punctuation" for h in run_rules(line_article(text, 0, "t")))

    assert not doubled("Shanghai Electric Co., Ltd. signed the deal.")
    assert not doubled("Rice, wheat etc.; all prices rose.")
    assert not doubled("The U.S., China and Japan agreed.")
    assert doubled("It is our sovereign right. . We go on.")
    assert doubled("He said it., then left.")
