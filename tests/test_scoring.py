"""Token scoring with the real default model: surprisal, context, sliding window, edits, batches."""

from __future__ import annotations

import statistics
from itertools import pairwise

import pytest
from conftest import SEED_NEWS

from mtcheck.core.types import TokenScore
from mtcheck.lm.model import LanguageModel
from mtcheck.reading.formats import read_file

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def seed_text() -> str:
    return read_file(SEED_NEWS)[0].text


@pytest.fixture(scope="module")
def seed_scores(lm, seed_text: str) -> list[TokenScore]:
    return lm.score(seed_text)


def _token_at(scores: list[TokenScore], start: int) -> TokenScore:
    matches = [t for t in scores if t.start == start]
    assert len(matches) == 1, f"no single token starts at {start}"
    return matches[0]


def _name_surprisal(scores: list[TokenScore], start: int, end: int) -> float:
    inside = [t for t in scores if start <= t.start < end]
    assert "".join(t.token for t in inside).strip() == "Zyrgonov"
    return sum(t.surprisal for t in inside)


def test_garbled_tokens_in_seed_stand_out(lm, seed_text: str, seed_scores: list[TokenScore]) -> None:
    ids, _offsets = lm.tokenize(seed_text)
    assert len(ids) > lm.window  # the whole article is longer than one window
    assert len(seed_scores) == len(ids)
    median = statistics.median(t.surprisal for t in seed_scores)

    he = _token_at(seed_scores, seed_text.index("NATO He will.") + len("NATO"))
    start = _token_at(seed_scores, seed_text.index("no start for") + len("no"))
    assert he.token == " He" and start.token == " start"
    for garbled in (he, start):
        assert garbled.surprisal > median + 8, (garbled, median)
        assert garbled.rank > 100


def test_token_scores_are_well_formed(seed_text: str, seed_scores: list[TokenScore]) -> None:
    previous_end = 0
    for t in seed_scores:
        assert seed_text[t.start : t.end] == t.token
        assert t.start >= previous_end  # in order, no overlaps
        previous_end = t.end
        assert t.surprisal >= 0
        assert t.entropy >= 0
        assert t.rank >= 1
        if t.surprisal < 0.05:  # p > 0.95: nothing else can be ranked above it
            assert t.rank == 1, t
    assert previous_end == len(seed_text.rstrip())
    assert sum(1 for t in seed_scores if t.surprisal < 0.05) > 50  # the rank check above had work to do
    as_json = seed_scores[0].to_json()
    assert set(as_json) == {"start", "end", "token", "surprisal", "entropy", "rank"}


def test_earlier_paragraphs_are_context(lm) -> None:
    p1 = "The company was founded by Viktor Zyrgonov in 1998 in a small town near the river."
    p2 = "It grew quickly and now employs more than two thousand people in six countries."
    p3 = "Last week Zyrgonov announced that he would step down as chief executive next year."
    text = "\n\n".join([p1, p2, p3])
    scores = lm.score(text)

    first_at = text.index("Zyrgonov")
    second_at = text.index("Zyrgonov", first_at + 1)
    first = _name_surprisal(scores, first_at - 1, first_at + len("Zyrgonov"))
    second = _name_surprisal(scores, second_at - 1, second_at + len("Zyrgonov"))
    assert second < first / 3 and first - second > 10, (first, second)

    # ... and it is the earlier paragraph that makes the difference: paragraph 3 alone finds it surprising
    alone = lm.score(p3)
    at = p3.index("Zyrgonov")
    assert _name_surprisal(alone, at - 1, at + len("Zyrgonov")) > second + 10


def test_sliding_window_gives_every_token_left_context(lm, seed_text: str) -> None:
    _ids, offsets = lm.tokenize(seed_text)
    text = seed_text[: offsets[300][0]].rstrip()
    n_tokens = len(lm.tokenize(text)[0])
    assert 280 <= n_tokens <= 300

    small = LanguageModel(window=64, overlap=16, precision="fp32")
    assert (small.window, small.overlap) == (64, 16)
    windowed = small.score(text)
    full = lm.score(text)  # one window: every token sees everything before it

    assert len(windowed) == n_tokens == len(full)
    assert all(a.start < b.start and a.end <= b.start for a, b in pairwise(windowed))
    assert [(t.start, t.end, t.token) for t in windowed] == [(t.start, t.end, t.token) for t in full]

    # the first window (63 tokens after the prefix token) sees exactly what the big window sees
    for a, b in zip(windowed[:63], full[:63], strict=True):
        assert a.surprisal == pytest.approx(b.surprisal, abs=1e-3)

    late = [abs(a.surprisal - b.surprisal) for a, b in zip(windowed[100:], full[100:], strict=True)]
    assert max(late) > 0.01  # the small window really did cut context off ...
    assert statistics.median(late) < 1  # ... but every token kept enough of it
    assert sum(d < 3 for d in late) >= 0.85 * len(late)

    # The tokens that open each later window (63 + k*47: 63 new tokens first, then 64-1-16 per window)
    # are the ones that would be scored blind without the overlap (mean diff ~5.5 nats then, ~1.3 with it).
    window_starts = range(63, n_tokens, 64 - 1 - 16)
    near_starts = [
        abs(windowed[i].surprisal - full[i].surprisal) for s in window_starts for i in range(s, min(s + 3, n_tokens))
    ]
    assert statistics.mean(near_starts) < 2.5, near_starts


def test_score_edits_matches_sequence_logprob(lm) -> None:
    context = "He also noted that"
    original = " elements of Russia’s demands appear to be no start for the United States."
    a = original.index(" start")
    b = a + len(" start")
    edits = [
        (a, b, " problem"),
        (a, b, " starter"),  # same shared prefix as the one above: scored in one batch
        (a, b, ""),  # deletion
        (0, len(" elements"), " parts"),  # at the very start of the original
        (len(original) - 1, len(original), "!"),  # at the very end
    ]

    base, scores = lm.score_edits(context, original, edits)

    assert base == pytest.approx(lm.sequence_logprob([original], [context])[0], abs=1e-3)
    assert base < 0
    edited = [original[:x] + r + original[y:] for x, y, r in edits]
    expected = lm.sequence_logprob(edited, [context] * len(edited))
    assert len(scores) == len(edits)
    for got, want, edit in zip(scores, expected, edits, strict=True):
        assert got == pytest.approx(want, abs=1e-3), edit
    assert scores[0] > base  # "no problem for" reads better than "no start for"
    assert scores[0] - base > 3


def test_score_many_equals_scoring_each_line_alone(lm) -> None:
    lines = [
        "The minister said the talks were useful.",
        "He will. They no longer accept new members like Ukraine.",
        "Stocks fell sharply on Monday after the government announced new tariffs on imported steel and cars.",
    ]
    batched = lm.score_many(lines)
    assert len(batched) == len(lines)
    for line, got in zip(lines, batched, strict=True):
        alone = lm.score(line)
        assert len(got) == len(alone) == len(lm.tokenize(line)[0])
        for g, w in zip(got, alone, strict=True):
            assert (g.start, g.end, g.token) == (w.start, w.end, w.token)
            assert line[g.start : g.end] == g.token
            assert g.surprisal == pytest.approx(w.surprisal, abs=1e-3)
            assert g.entropy == pytest.approx(w.entropy, abs=1e-3)
            assert g.rank == w.rank
