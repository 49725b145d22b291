"""MT-artifact rules on hand-made lines."""

from __future__ import annotations

import pytest

from mtcheck.core.codes import Code
from mtcheck.reading import line_article, text_article
from mtcheck.signals.rules import RULES, Rule, run_rules


def codes(text: str) -> set[str]:
    return {h.code for h in run_rules(line_article(text, 0, "t"))}


def test_every_rule_is_registered_once_with_its_confidence_and_weight_named():
    assert len({type(r) for r in RULES}) == len(RULES) >= 9
    for rule in RULES:
        assert isinstance(rule, Rule) and isinstance(rule.code, Code)
        assert 0 < rule.confidence < 1 and rule.weight > 0


@pytest.mark.parametrize(
    "text, code",
    [
        ("It is our sovereign right. . We go on with it.", Code.DOUBLED_PUNCTUATION),
        ("Washington pledged that NATO He will no longer accept new members.", Code.STRAY_PRONOUN),
        ("He had no intention of invading, By de-escalation we mean talks.", Code.MIDSENTENCE_CAPITAL),
        ("The minister said that the talks would continue with.", Code.TRUNCATED_SENTENCE),
        ("Russia had no intention of [to invade] Ukraine at all.", Code.BRACKETED_INSERTION),
        ("He said the talks went well” and left the room.", Code.UNBALANCED_QUOTE),
        ("The minister of Крым said the talks went well.", Code.UNTRANSLATED),
        ("The demands appear to be no start for the United States.", Code.CALQUE),
    ],
)
def test_each_rule_fires_on_its_artifact(text, code):
    assert code in codes(text)


def test_a_full_stop_cutting_a_sentence_is_a_broken_boundary():
    article = text_article("Talks end\n\nThey met in Brussels on Wednesday. between Russia and all members.")
    assert Code.BROKEN_BOUNDARY in {h.code for h in run_rules(article)}


def test_a_name_styled_in_lower_case_does_not_break_a_boundary():
    """English-original news (BBC, Brisbane Times): "oOh!media" or "iPhone" starting a sentence is a name, not a
    sentence cut by a stray full stop (it gave two critical flags to a human article on the dev set)."""
    for start in ("oOh!media", "iPhone", "eBay"):
        article = text_article(f"Ads\n\nThe screens were upgraded. {start} said sales rose in the spring.")
        assert Code.BROKEN_BOUNDARY not in {h.code for h in run_rules(article)}, start
    article = text_article("Ads\n\nThe screens were upgraded. ooh said sales rose in the spring.")
    assert Code.BROKEN_BOUNDARY in {h.code for h in run_rules(article)}


def test_a_stop_ending_a_unit_abbreviation_does_not_break_a_boundary():
    """Professional Russian-English translations (WMT21 dev): "45 sq. m" and "300 cub. m/s" gave critical flags;
    the same lower-case word after an ordinary word's stop still does."""
    for text in ("The flat measures 45 sq. m and costs a lot.", "The flow reached 300 cub. m/s on Monday.",
                 "Rice, wheat etc. and other grains rose."):  # fmt: skip
        article = text_article(f"Prices\n\n{text}")
        assert Code.BROKEN_BOUNDARY not in {h.code for h in run_rules(article)}, text
    article = text_article("Prices\n\nThe flat measures 45 square. m and costs a lot.")
    assert Code.BROKEN_BOUNDARY in {h.code for h in run_rules(article)}


def test_a_calque_carries_the_english_idiom_as_its_fix():
    text = "The demands appear to be pressure cards from Russia."
    (hit,) = [h for h in run_rules(line_article(text, 0, "t")) if h.code == Code.CALQUE]
    assert (
        hit.fix is not None
        and hit.fix.replacement == "leverage"
        and text[hit.fix.start : hit.fix.end] == "pressure cards"
    )


def test_plain_english_raises_no_rule():
    assert codes("The two sides met in Geneva on Monday and agreed to talk again next week.") == set()


def test_a_stop_after_an_abbreviation_is_not_doubled_punctuation():
    def doubled(text: str) -> bool:
        return any(h.code == "doubled-punctuation" for h in run_rules(line_article(text, 0, "t")))

    assert not doubled("Shanghai Electric Co., Ltd. signed the deal.")
    assert not doubled("Rice, wheat etc.; all prices rose.")
    assert not doubled("The U.S., China and Japan agreed.")
    assert not doubled("At 8 a.m., most stations showed green.")
    assert not doubled("Some fruit, e.g., apples, is cheap.")
    assert not doubled("It was bought by oOh!, was $234.8 million in revenue.")  # the name "oOh!" (enorig dev)
    assert not doubled("Yahoo!, Google and Bing answered.")
    assert doubled("It is our sovereign right. . We go on.")
    assert doubled("It is our sovereign right! . We go on.")
    assert doubled("He said it., then left.")


def test_a_phrase_repeated_back_to_back_is_a_translation_loop():
    text = "The plant is in Shaya, Xinjiang Shaya, Xinjiang Shaya, Xinjiang Shaya, China."
    hits = [h for h in run_rules(line_article(text, 0, "t")) if h.code == "repeated-phrase"]
    assert len(hits) == 1
    assert "3 times" in hits[0].message or "4 times" in hits[0].message
    fix = hits[0].fix
    assert fix is not None and fix.source == "rule" and fix.keeps_words
    assert text[: fix.start] + fix.replacement + text[fix.end :] == "The plant is in Shaya, Xinjiang Shaya, China."


def test_commas_between_the_copies_of_a_loop_do_not_hide_it():
    def fixed(text: str) -> str | None:
        hits = [h for h in run_rules(line_article(text, 0, "t")) if h.code == "repeated-phrase"]
        if not hits:
            return None
        f = hits[0].fix
        return text[: f.start] + f.replacement + text[f.end :]

    three = "The law was signed by US President, signed by US President, signed by US President Joe Biden."
    assert fixed(three) == "The law was signed by US President Joe Biden."
    assert fixed("Doctors gave her doses of convalescent, of convalescent plasma.") == (
        "Doctors gave her doses of convalescent plasma."
    )
    assert fixed("Doctors gave her doses of convalescent of convalescent plasma.") is None  # two words, no comma
    assert fixed("Hong Kong is China's Hong Kong, Hong Kong affairs are China's own.") is None  # a name, again
    assert fixed("The firm signed by, signed by the minister.") == "The firm signed by the minister."
    # a noun phrase said again in a list, going on (a zh-en dev line), against one that ends there (a ru-en one)
    assert fixed("When applying for a renewal of a license, a license certificate shall be issued.") is None
    assert fixed("Talk about fake news, fake news, and the infosphere.") == "Talk about fake news, and the infosphere."


def test_two_content_words_said_twice_or_a_measure_said_again_is_a_loop():
    def fixed(text: str) -> str | None:
        hits = [h for h in run_rules(line_article(text, 0, "t")) if h.code == "repeated-phrase"]
        return None if not hits else text[: hits[0].fix.start] + hits[0].fix.replacement + text[hits[0].fix.end :]

    assert fixed("They just give individuals give individuals plasma in the hospital.") == (
        "They just give individuals plasma in the hospital."
    )
    assert fixed("Twenty years ago the clarity of the lake was 100 feet, 100 feet.") == (
        "Twenty years ago the clarity of the lake was 100 feet."
    )
    # a function word in the pair, a name said again, commas inside the phrase, a measure that goes on
    assert fixed("The black hole will get faster and faster, and louder.") is None
    assert fixed("Golden Boot winner Jamie Vardy Jamie Vardy acknowledged his debt.") is None
    assert fixed("It's hot, it's hot, it's so hot that even the birds hide.") is None
    assert fixed("The angles are 0 degrees, 0 degrees and 120 degrees wide.") is None


def test_a_plain_sentence_or_a_single_repeat_is_no_loop():
    for text in (
        "He said that that was all.",
        "Prices rose, rose again in May and fell in June.",
        "The talks, the talks' organisers said, went well.",
    ):
        assert not [h for h in run_rules(line_article(text, 0, "t")) if h.code == "repeated-phrase"], text


def test_a_capitalised_article_after_a_lower_case_word_is_a_midsentence_capital():
    def capitals(text: str) -> list[str]:
        hits = run_rules(line_article(text, 0, "t"))
        return [text[h.start : h.end] for h in hits if h.code == Code.MIDSENTENCE_CAPITAL]

    assert capitals("Sources said that The companies were discussing ways to merge.") == ["that The companies"]
    assert capitals("Officials warned of An imminent second wave.") == ["of An imminent"]
    assert capitals("They made the decision but, of course, The way it was made matters.") == ["course, The way"]
    assert capitals("The package includes new payments To Americans this year.") == ["payments To Americans"]
    # a title or a name starts there (the word after has a capital too), or the word before is no plain word
    for text in (
        "The court in The Hague ruled on Monday.",
        "The newspaper The Times said it would appeal.",
        "They can strike a deal with the Serie A side soon.",
        "It gets covered in pollen. (Laughter) The plant sprinkles it.",
        "It gets covered in pollen (Laughter) And the plant sprinkles it.",
        "She needs more vitamin A for her eyes.",
    ):
        assert capitals(text) == [], text


def test_a_capitalised_conjunction_between_two_capitalised_words_is_a_midsentence_capital():
    hits = [h for h in run_rules(line_article("He stayed on Twitter And Instagram for years.", 0, "t"))]
    capitals = [h for h in hits if h.code == Code.MIDSENTENCE_CAPITAL]
    assert [h.end - h.start for h in capitals] == [len("Twitter And Instagram")]
    assert "title" in capitals[0].message  # not "a boundary was lost": only the capital is wrong
    assert [h for h in run_rules(line_article("The Hammersmith Or City line reopened.", 0, "t"))]
    # a lower-case conjunction, an ampersand, a capitalised word at a sentence's start
    for text in (
        "He stayed on Twitter and Instagram for years.",
        "Marks & Spencer And the rest fell.",  # "Spencer And the": the word after is lower-case: a boundary hit
        "And Instagram banned him too.",
    ):
        hits = [h for h in run_rules(line_article(text, 0, "t")) if h.code == Code.MIDSENTENCE_CAPITAL]
        assert all("title" not in h.message for h in hits), text
