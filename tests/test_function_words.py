"""Function words and cut-off clauses: the detector's function-word edits (a preposition for another, a verb's
number, a dropped article), the rule for a relative clause cut off by a full stop, the idiom calques the
restoration benchmark plants, and the suggestions' function-word feature."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from mtcheck.core.codes import Code, Severity
from mtcheck.core.types import Fix, FixSource, Flag, Hit
from mtcheck.correct.corrector import article_insertions
from mtcheck.reading import feed_item_article, text_article
from mtcheck.signals.editgain import describe_edit
from mtcheck.signals.rules import run_rules
from mtcheck.training.artifacts import plant, plant_idioms
from mtcheck.training.idioms import IDIOMS, calque_in


def _hits(text: str) -> list:
    return run_rules(feed_item_article({"id": "t", "text": text}, "#1", "1"))


def test_a_relative_clause_cut_off_by_a_full_stop_is_joined_back():
    text = "Title\n\nThat left him one behind Jamie Vardy. Who won the Golden Boot as the top scorer.\n"
    (hit,) = [h for h in _hits(text) if h.code == "broken-boundary"]
    assert text[hit.start : hit.end] == "Vardy. Who won"
    fixed = text[: hit.fix.start] + hit.fix.replacement + text[hit.fix.end :]
    assert "Jamie Vardy, who won the Golden Boot" in fixed


@pytest.mark.parametrize(
    "text",
    [
        "Title\n\nThe match ended late. Who won the cup?\n",  # a question
        "Title\n\nThe match ended late.\n\nWho won the cup was never in doubt.\n",  # another paragraph
        "Title\n\nThe match ended late. Whose fault it was, nobody said.\n".replace("Whose", "While"),  # not relative
    ],
)
def test_a_question_another_paragraph_or_another_opener_is_no_cut_clause(text):
    assert not [h for h in _hits(text) if h.code == "broken-boundary"]


def test_an_insertion_is_described_as_one():
    assert describe_edit("next", "the next") == "insert “the”"
    assert describe_edit("for", "to") == "replace “for” with “to”"


def test_a_listed_idiom_is_replaced_by_its_calque_keeping_the_case():
    rng = random.Random(0)
    new, start, end = calque_in("According to the police, nothing happened.", rng)
    assert new == "By the words of the police, nothing happened." and new[start:end] == "By the words of"
    new, start, end = calque_in("The talks took place in May.", rng)
    assert new[start:end] == "had place"
    # an idiom inside a longer listed one is not taken alone
    new, start, end = calque_in("He left at the end of May.", rng)
    assert new[start:end] == "in the end of"
    assert calque_in("Nothing idiomatic here at all.", rng) is None


def test_every_idiom_cites_its_source_and_differs_from_its_calque():
    for idiom in IDIOMS:
        assert idiom.cite.startswith("https://") and idiom.source and idiom.lang
        for english, calque in idiom.forms():
            assert english != calque


def test_planting_idioms_leaves_the_other_artifacts_where_they_were():
    text = "Headline\n\n" + " ".join(
        f"Officials said the meeting took place on day {n} of the talks, according to the ministry." for n in range(30)
    )
    corrupted, planted = plant(text, random.Random(3))
    before = {(p.kind, corrupted[p.start : p.end], p.original) for p in planted}
    more, everything = plant_idioms(corrupted, planted, random.Random(4), rate=1.0)
    idioms = [p for p in everything if p.kind == "idiom"]
    assert idioms and len(everything) == len(planted) + len(idioms)
    assert {(p.kind, more[p.start : p.end], p.original) for p in everything if p.kind != "idiom"} == before
    for p in idioms:
        sentence = more[p.sentence_start : p.sentence_end]
        assert sentence != p.original and more[p.start : p.end] in ("had place", "by the words of")


def test_the_function_word_feature_marks_a_preposition_swap_and_an_inserted_article():
    from mtcheck.core.types import Suggestion
    from mtcheck.correct.confidence import FEATURES, features

    text = "They agreed for pay the fine before next week."
    at_for, at_next, at_pay = text.index("for"), text.index("next"), text.index("pay")
    flag = Flag(at_for, at_for + 3, "for", "minor", 0.4, ())
    column = FEATURES.index("function_word")

    def feature(start: int, end: int, replacement: str) -> float:
        s = Suggestion(start, end, replacement, "", 0, 8.0, FixSource.EDIT, "")
        return features(flag, [s], 1, text)[column]

    assert feature(at_for, at_for + 3, "to") == 1.0
    assert feature(at_next, at_next + 4, "the next") == 1.0
    assert feature(at_pay, at_pay + 3, "settle") == 0.0


def _flags_at(checker, body: str, *marks: str) -> tuple[str, list]:
    """The checked article's text, and for each mark the first flag over it (None: no flag there)."""
    report = checker.check(text_article("News\n\n" + body + "\n", path="t.txt", id="t"))
    text = report.text
    return text, [next((f for f in report.flags if f.start <= text.index(m) < f.end), None) for m in marks]


def _top_applied(text: str, flag) -> str:
    s = flag.suggestions[0]
    return text[: s.start] + s.replacement + text[s.end :]


@pytest.mark.model
def test_a_wrong_preposition_and_a_cut_clause_are_flagged_and_restored(checker):
    body = (
        "The two governments met in Geneva on Monday. After long talks, both sides agreed for resume the "
        "negotiations next month. The deal was praised by Jamie Vardy. Who called it a fair result for everyone."
    )
    text, (swap, cut) = _flags_at(checker, body, "for resume", ". Who")
    assert swap and "agreed to resume" in _top_applied(text, swap)
    assert cut and "Vardy, who called" in _top_applied(text, cut)


@pytest.mark.model
def test_a_clause_cut_off_before_where_is_joined_on_the_second_models_word(checker):
    body = (
        "Zelensky flew to Rome on Monday. His visit was welcomed by the Vatican. Where he received a long "
        "audience with the Pope and asked for help. He returned to Kyiv the next day."
    )
    text, (cut,) = _flags_at(checker, body, ". Where")
    assert cut and "the Vatican, where he received" in _top_applied(text, cut)
    assert "second model" in " ".join(r.message for r in cut.reasons)


class _FakeSecondModel:
    """Scores a text as minus the number of times it holds "for": the edit "for" -> "to" gains 1 nat per removal."""

    name = "fake-second"

    def __init__(self, per_for: float):
        self.per_for = per_for
        self.asked: list[str] = []

    def score_units(self, texts):
        from types import SimpleNamespace

        self.asked += texts
        units = [SimpleNamespace(tokens=[SimpleNamespace(surprisal=self.per_for * t.count(" for "))]) for t in texts]
        return SimpleNamespace(units=units)


@pytest.mark.parametrize(("per_for", "kept"), [(8.0, True), (2.0, False)])
def test_a_function_word_edit_stands_only_if_the_second_model_agrees(per_for, kept):
    from mtcheck.signals.editgain import Edit, EditGainSettings, LMSignals

    text = "Talks\n\nThe two sides agreed for resume talks. Nothing else changed for now.\n"
    article = text_article(text, path="t.txt", id="t")
    at = text.index("for resume")
    function = Edit(at, at + 3, "to", "substitute", None, 0.0, function=True)
    other = Edit(at, at + 3, "", "delete", None, 0.0)
    weak = Edit(text.index("for now"), text.index("for now") + 3, "to", "substitute", None, 0.0, function=True)
    signals = LMSignals(type("FirstModel", (), {"name": "first"})(), None, EditGainSettings())
    second = _FakeSecondModel(per_for)
    signals._second = second  # what `verifier` would have loaded
    gains = [[9.0, 9.0, 2.0]]
    signals.second_opinion([article], [[function, other, weak]], gains)
    assert len(second.asked) == 2  # only the function-word edit that passed the first model's test
    assert function.second_gain == pytest.approx(per_for)
    assert (gains[0][0] >= signals.settings.min_gain) is kept
    assert gains[0][1:] == [9.0, 2.0] and other.second_gain is None and weak.second_gain is None


@pytest.mark.parametrize(("second_gain", "stands"), [(9.0, True), (3.0, False)])
def test_a_merge_before_a_clause_word_stands_on_the_second_models_gain(second_gain, stands):
    from mtcheck.signals.editgain import EditGainSettings, LMSignals

    text = "Rome\n\nHe was received by the Vatican. Where he met the Pope. It was May.\n"
    article = text_article(text, path="t.txt", id="t")
    signals = LMSignals(type("FirstModel", (), {"name": "first"})(), None, EditGainSettings())
    stop = text.index(". Where")
    merges = signals.merges(text, stop, stop + 2, None)
    # "Where" loses its capital (a clause word, not a name) and the join is tried with and without a comma
    joined = [text[: m.start] + m.replacement + text[m.end :] for m in merges]
    assert [j[j.index("Vatican") :][:15] for j in joined] == ["Vatican where h", "Vatican, where "]
    assert all(m.clause for m in merges)
    plain = signals.merges(text, text.index(". It"), text.index(". It") + 2, None)
    assert not any(m.clause for m in plain)

    class Second(_FakeSecondModel):
        def score_units(self, texts):
            from types import SimpleNamespace

            self.asked += texts
            units = [
                SimpleNamespace(tokens=[SimpleNamespace(surprisal=0.0 if ", where" in t else second_gain)])
                for t in texts
            ]
            return SimpleNamespace(units=units)

    signals._second = Second(0.0)
    gains = [[2.0, 1.0]]  # under min_gain for the small model
    signals.second_opinion([article], [merges], gains)
    assert merges[1].second_gain == pytest.approx(second_gain)
    assert (gains[0][1] >= signals.settings.min_gain) is stands
    if stands:
        assert gains[0][1] == pytest.approx(second_gain)  # it stands on the second model's gain


def _flag_with_fix(text: str, word: str, replacement: str) -> Flag:
    at = text.index(word)
    fix = Fix(at, at + len(word), replacement, FixSource.EDIT, "")
    hits = (Hit(at, at + len(word), Code.EDIT_GAIN, "", 0.4, fix=fix),)
    return Flag(at - 7, at + len(word), text[at - 7 : at + len(word)], Severity.MINOR, 0.4, (), hits=hits)


def test_a_dropped_article_gets_the_other_article_too():
    text = "Officials have also warned second wave could come."
    flag = _flag_with_fix(text, "second", "the second")
    got = {(text[c.start : c.end], c.replacement) for c in article_insertions(text, flag)}
    assert got == {("second", "the second"), ("second", "a second")}
    vowel = "Officials have also warned update was due."
    assert {c.replacement for c in article_insertions(vowel, _flag_with_fix(vowel, "update", "the update"))} == {
        "the update",
        "an update",
    }


def test_no_article_is_offered_where_the_detector_found_no_dropped_one():
    text = "Here, for instance, is trust."
    assert article_insertions(text, _flag_with_fix(text, "trust", "not")) == []  # a substitute, not an insertion
    assert article_insertions(text, replace(_flag_with_fix(text, "trust", "not"), hits=())) == []


@pytest.mark.parametrize(
    ("word", "article"),
    [("update", "an"), ("second", "a"), ("hour", "an"), ("university", "a"), ("unusual", "an"), ("one", "a")]
    + [("FBI", "an"), ("US", "a"), ("European", "a")],
)
def test_the_indefinite_article_goes_by_the_words_sound(word, article):
    from mtcheck.core.text import indefinite_article

    assert indefinite_article(word) == article


@pytest.mark.parametrize(
    "word, keeps",
    [("Crimea", True), ("NATO", True), ("The", False), ("An", False), ("Where", False), ("By", False)],
)
def test_a_name_keeps_its_capital_where_a_sentence_is_mended_and_a_closed_class_word_does_not(word, keeps):
    from mtcheck.core.text import keeps_capital

    assert keeps_capital(word) is keeps


@pytest.mark.model
def test_a_capitalised_article_in_mid_sentence_is_flagged_and_lower_cased(checker):
    body = (
        "The two firms did not comment on the report. Sources said that The companies were discussing ways to "
        "merge their units before the end of the year."
    )
    text, (capital,) = _flags_at(checker, body, "The companies")
    assert capital and "said that the companies were" in _top_applied(text, capital)


def test_a_case_change_carries_no_slor_charge_but_a_removed_word_does():
    from mtcheck.correct.corrector import charged_words

    assert charged_words(". When", ", when") == ([], [])
    assert charged_words(". W", " w") == ([], [])
    assert charged_words("second. When", " when") == (["second"], [])
    assert charged_words("took participation", "took part") == (["participation"], ["part"])


def test_a_capital_no_name_keeps_is_lowered_or_given_its_lost_full_stop_where_it_stands():
    from mtcheck.correct.corrector import small_edits

    article = text_article("News\n\nA woman From Delhi said so. Reports say it was late.\n", path="t.txt", id="t")
    text = article.text

    def offered(word: str) -> set[tuple[str, str]]:
        at = text.index(word)
        flag = Flag(at, at + len(word), word, Severity.MINOR, 0.4, ())
        return {(text[c.start : c.end], c.replacement) for c in small_edits(article, flag)}

    assert {("From", "from"), (" From", ". From")} <= offered("From")  # the flag's first and only word
    assert not any(r in ("delhi", ". ") for _o, r in offered("Delhi"))  # a name keeps its capital
    assert not any(r == "reports" for _o, r in offered("Reports"))  # a sentence's first word keeps it


def test_a_light_verb_is_offered_the_other_light_verbs_in_its_form_but_not_as_an_auxiliary():
    from mtcheck.core.text import light_verb_swaps
    from mtcheck.correct.corrector import light_verb_edits

    assert light_verb_swaps("having") == ["doing", "giving", "making", "taking"]
    assert {"took", "taken"} <= set(light_verb_swaps("had")) and "had" not in light_verb_swaps("had")
    assert light_verb_swaps("Took")[0][0].isupper() and light_verb_swaps("place") == []
    article = text_article(
        "News\n\nProtests had place in May. They had been banned and did not stop.\n", path="t.txt", id="t"
    )
    text = article.text

    def offered(at: int, word: str) -> set[str]:
        flag = Flag(at, at + len(word), word, Severity.MINOR, 0.4, ())
        return {c.replacement for c in light_verb_edits(article, flag)}

    assert {"took", "made", "gave"} <= offered(text.index("had place"), "had")
    assert "took" not in offered(text.index("had been"), "had")  # an auxiliary
    assert "made" not in offered(text.index("did not"), "did")
    at = text.index("had place")
    rule = Hit(at, at + 3, Code.MIDSENTENCE_CAPITAL, "test", 0.85)
    ruled = Flag(at, at + 3, "had", Severity.MINOR, 0.4, (), hits=(rule,))
    assert light_verb_edits(article, ruled) == []  # a rule's flag names another fault


def test_the_content_guard_lets_one_light_verb_stand_for_another_and_nothing_more():
    from mtcheck.correct import guards

    def ok(original: str, corrected: str, span: str) -> bool:
        at = original.index(span)
        return guards.check(original, corrected, span, None, (at, at + len(span)), "edit").ok

    assert ok("Two protests had place in May.", "Two protests took place in May.", "had")
    assert ok("Protests are having place now.", "Protests are taking place now.", "having")
    assert not ok("Two protests took place in May.", "Two protests place in May.", "took")  # a verb dropped
    assert not ok("Two protests had place in May.", "Two protests held place in May.", "had")  # no light verb
    assert not ok("They took the city in May.", "They took the town in May.", "took")  # the noun changes


@pytest.mark.model
def test_a_calque_with_the_wrong_light_verb_gets_the_idiom_first(checker):
    from mtcheck.core.types import Reason
    from mtcheck.correct.corrector import Corrector, CorrectorSettings

    body = "Protests in support of the former governor have been having place since July 11."
    article = text_article("News\n\n" + body + "\n", path="t.txt", id="t")
    at = article.text.index("having")
    flag = Flag(at, at + len("having"), "having", Severity.MINOR, 0.5, (Reason(Code.LEARNED, "test"),))
    (got,) = Corrector(checker.lm, CorrectorSettings(gec=False)).suggest(article, [flag])
    assert got.suggestions and got.suggestions[0].replacement == "taking"
