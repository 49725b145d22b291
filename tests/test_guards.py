"""Meaning guards of the corrections stage (no model needed)."""

from __future__ import annotations

from mtcheck.correct import guards

ORIGINAL = "Officials said about 100,000 troops were not withdrawn from the border with Ukraine."


def test_dropping_not_is_rejected_with_its_reason():
    corrected = "Officials said about 100,000 troops were withdrawn from the border with Ukraine."
    verdict = guards.check(ORIGINAL, corrected, "the border", None)
    assert not verdict.ok and verdict.guard == "negation" and "negation" in verdict.why
    # a small edit or a rewrite may not drop it from the flagged span either: the span reads as garbled, which
    # does not make its "not" the error
    for source in ("edit", "rewrite"):
        verdict = guards.check(ORIGINAL, corrected, "were not withdrawn", None, source=source)
        assert not verdict.ok and verdict.guard == "negation"
    # a rule's fix of the span may: the calque table's idiom replaces the whole phrase
    calque = "The proposals were not just the beginning for the United States."
    idiom = "The proposals were a non-starter for the United States."
    assert guards.check(calque, idiom, "not just the beginning for", None, source="rule").ok
    assert guards.check(calque, idiom, "not just the beginning for", None).guard == "negation"


def test_changing_a_number_is_rejected():
    corrected = "Officials said about 10,000 troops were not withdrawn from the border with Ukraine."
    verdict = guards.check(ORIGINAL, corrected, "the border", None)
    assert not verdict.ok and verdict.guard == "number" and "100,000" in verdict.why
    # inside the flagged span too, when a small edit drops it (only a rule's fix may)
    dropped = ORIGINAL.replace("about 100,000 troops", "troops")
    verdict = guards.check(ORIGINAL, dropped, "about 100,000 troops", None)
    assert not verdict.ok and verdict.guard == "number" and "100,000" in verdict.why


def test_dropping_a_name_is_rejected():
    corrected = "Officials said about 100,000 troops were not withdrawn from the border."
    verdict = guards.check(ORIGINAL, corrected, "withdrawn", None)
    assert not verdict.ok and verdict.guard == "name" and "Ukraine" in verdict.why


def test_low_embedding_similarity_is_rejected():
    verdict = guards.check(ORIGINAL, ORIGINAL.replace("from", "to"), "from", 0.5)
    assert not verdict.ok and verdict.guard == "meaning"


def test_rewriting_outside_the_span_is_rejected():
    corrected = "Experts believe many soldiers were not withdrawn from the border with Ukraine, about 100,000."
    start = ORIGINAL.index("were")
    verdict = guards.check(ORIGINAL, corrected, "were not", None, (start, start + len("were not")))
    assert not verdict.ok and verdict.guard == "context"


def test_a_local_fix_passes_every_guard():
    original = "Talks ended on Wednesday. between Russia and NATO, with 30 members not present."
    corrected = "Talks ended on Wednesday between Russia and NATO, with 30 members not present."
    start = original.index("Wednesday")
    assert guards.check(original, corrected, "Wednesday. between", 0.97, (start, start + 18)).ok


def test_swapping_or_dropping_a_content_word_is_rejected_but_a_function_word_fix_passes():
    original = "The government has increased the privileges of the police in the region."
    swapped = original.replace("privileges", "power")
    verdict = guards.check(original, swapped, "privileges", 0.95)
    assert not verdict.ok and verdict.guard == "content" and "privileges" in verdict.why
    dropped = original.replace(" in the region", "")
    assert guards.check(original, dropped, "in the region", 0.95).guard == "content"
    fixed = original.replace("privileges of the police", "privileges to the police")
    assert guards.check(original, fixed, "of the", 0.95).ok
    # the calque table's idiom is a content change the tool may propose (source "rule")
    calque = "Their demands appear to be no start for Washington."
    idiom = "Their demands appear to be a non-starter for Washington."
    assert not guards.check(calque, idiom, "no start", 0.9).ok
    assert guards.check(calque, idiom, "no start", 0.9, source="rule").ok
