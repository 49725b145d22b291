"""MT-artifact rules on hand-made lines."""

from __future__ import annotations

from mtcheck.reading.formats import line_article
from mtcheck.signals.rules import run_rules


def test_a_stop_after_an_abbreviation_is_not_doubled_punctuation():
    def doubled(text: str) -> bool:
        return any(h.code == "doubled-punctuation" for h in run_rules(line_article(text, 0, "t")))

    assert not doubled("Shanghai Electric Co., Ltd. signed the deal.")
    assert not doubled("Rice, wheat etc.; all prices rose.")
    assert not doubled("The U.S., China and Japan agreed.")
    assert not doubled("At 8 a.m., most stations showed green.")
    assert not doubled("Some fruit, e.g., apples, is cheap.")
    assert doubled("It is our sovereign right. . We go on.")
    assert doubled("He said it., then left.")


def test_a_phrase_repeated_back_to_back_is_a_translation_loop():
    text = "The plant is in Shaya, Xinjiang Shaya, Xinjiang Shaya, Xinjiang Shaya, China."
    hits = [h for h in run_rules(line_article(text, 0, "t")) if h.code == "repeated-phrase"]
    assert len(hits) == 1
    assert "3 times" in hits[0].message or "4 times" in hits[0].message
    first = hits[0].data["first"]
    assert text[: first[1]] + text[hits[0].end :] == "The plant is in Shaya, Xinjiang Shaya, China."


def test_a_plain_sentence_or_a_single_repeat_is_no_loop():
    for text in (
        "He said that that was all.",
        "Prices rose, rose again in May and fell in June.",
        "The talks, the talks' organisers said, went well.",
    ):
        assert not [h for h in run_rules(line_article(text, 0, "t")) if h.code == "repeated-phrase"], text
