"""The one pass (`LanguageModel.score_units`) and rescoring on its cache (`UnitPass`)."""

from __future__ import annotations

import statistics

import pytest

pytestmark = pytest.mark.model

ARTICLE = (
    "Russia demanded guarantees on Wednesday. between Russia and the alliance. "
    "He said the United States' pledge that NATO He will. They no longer accept new members."
)


def _sentences(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for end in [i + 1 for i, c in enumerate(text) if c == "." and (i + 1 == len(text) or text[i + 1] == " ")]:
        out.append((start, end))
        start = end + 1
    return out


def test_units_are_read_alone_and_carry_article_offsets(lm) -> None:
    spans = _sentences(ARTICLE)
    passed = lm.score_units([ARTICLE[a:b] for a, b in spans], [a for a, _b in spans], (), [ARTICLE] * len(spans))
    view = passed.article(range(len(spans)))
    for (a, b), unit in zip(spans, passed.units, strict=True):
        alone = lm.score(ARTICLE[a:b])
        assert [t.surprisal for t in unit.tokens] == pytest.approx([t.surprisal for t in alone], abs=1e-3)
        assert all(ARTICLE[t.start : t.end] == t.token for t in unit.tokens)
    assert view.unit_at(spans[1][0] + 3) == 1
    assert view.unit_at(spans[0][1]) is None  # the space between two sentences is in no unit


def test_windows_on_the_cache_equal_fresh_scoring(lm) -> None:
    """A window read after the previous sentence, one that joins two sentences, and edits of both: every
    log-probability computed on the cache equals scoring the whole text afresh."""
    spans = _sentences(ARTICLE)
    passed = lm.score_units([ARTICLE[a:b] for a, b in spans], [a for a, _b in spans], (), [ARTICLE] * len(spans))
    view = passed.article(range(len(spans)))
    (s0, e0), (s1, e1), (s2, e2), (s3, e3) = spans
    stop = ARTICLE.index("will.") + len("will")
    windows = [
        # sentence 2 after sentence 1; an edit deleting "between"
        view.window(s1, e1, [(s1, s1 + len("between "), "")], context_from=s0),
        # sentences 3 and 4 joined (the false full stop removed), no context
        view.window(s2, e3, [(stop, stop + 6, " they")]),
        # sentence 1 alone: its original comes straight from the pass
        view.window(s0, e0, [(ARTICLE.index(" on Wednesday"), e0 - 1, "")]),
    ]
    got = passed.window_gains(windows)
    cases = [(ARTICLE[s0:s1], s1, e1), ("", s2, e3), ("", s0, e0)]
    for (context, lo, hi), window, gains in zip(cases, windows, got, strict=True):
        base = lm.sequence_logprob([ARTICLE[lo:hi]], [context])[0]
        for (a, b, r), gain in zip(window[3], gains, strict=True):
            text = ARTICLE[lo:a] + r + ARTICLE[b:hi]
            assert gain == pytest.approx(lm.sequence_logprob([text], [context])[0] - base, abs=2e-3)
    assert got[1][0] > 3  # "NATO He will. They" -> "NATO He will they": the join reads better


def test_a_horizon_compares_the_same_stretch_of_both(lm) -> None:
    """With a horizon, a variant and the original are compared up to a few tokens past the change: the gain is
    that of the shortened texts, and close to the full gain for a local edit."""
    text = "He also noted that elements of Russia's demands appear to be no start for the United States and its allies."
    passed = lm.score_units([text])
    a = text.index(" start")
    window = (0, 0, len(text), [(a, a + len(" start"), " problem")])
    (full,), (near,) = passed.window_gains([window]), passed.window_gains([window], horizon=2)
    stop = text.index(" the United")  # the token holding the change's end (" start"), then " for" and " the"
    stop += len(" the")
    short = lm.sequence_logprob([text[:a] + " problem" + text[a + 6 : stop], text[:stop]])
    assert near[0] == pytest.approx(short[0] - short[1], abs=2e-3)
    assert near[0] > 3 and abs(near[0] - full[0]) < 2


def test_a_screen_reads_on_only_the_variants_still_in_the_running(lm) -> None:
    """With a screen, every variant is read a few tokens past its change; one under its floor keeps that short
    gain, one above it is read on from where the screen stopped (the screen's own cache, and the original's
    read-on continued) to the same gain as a reading in one go. The call keeps nothing once it returns."""
    from mtcheck.lm.units import Screen

    spans = _sentences(ARTICLE)
    passed = lm.score_units([ARTICLE[a:b] for a, b in spans], [a for a, _b in spans], (), [ARTICLE] * len(spans))
    view = passed.article(range(len(spans)))
    (s0, _e0), (s1, e1), (s2, _e2), (_s3, e3) = spans
    stop = ARTICLE.index("will.") + len("will")
    windows = [
        view.window(s1, e1, [(s1, s1 + len("between "), ""), (s1 + len("between"), s1 + len("between"), " pigs")], s0),
        view.window(s2, e3, [(stop, stop + 6, " they"), (s2, s2 + 2, "She")], s0),
    ]
    full, near = passed.window_gains(windows), passed.window_gains(windows, horizon=2)
    held = len(passed.units), len(passed._caches)
    keep, drop = -1e9, 1e9
    screened = passed.window_gains(windows, screen=Screen(((2, [[keep, drop], [drop, keep]]),)))
    assert (len(passed.units), len(passed._caches)) == held
    assert screened[0][0] == pytest.approx(full[0][0], abs=2e-3)
    assert screened[1][1] == pytest.approx(full[1][1], abs=2e-3)
    assert screened[0][1] == pytest.approx(near[0][1], abs=2e-3)
    assert screened[1][0] == pytest.approx(near[1][0], abs=2e-3)
    # two stages: read 1 token past the change, then 2 (on from the first stage's caches), then to the end
    nearer = passed.window_gains(windows, horizon=1)
    staged = passed.window_gains(
        windows, screen=Screen(((1, [[keep, keep], [keep, drop]]), (2, [[keep, drop], [drop, keep]])))
    )
    assert (len(passed.units), len(passed._caches)) == held
    assert staged[0][0] == pytest.approx(full[0][0], abs=2e-3)
    assert staged[0][1] == pytest.approx(near[0][1], abs=2e-3)
    assert staged[1][0] == pytest.approx(near[1][0], abs=2e-3)
    assert staged[1][1] == pytest.approx(nearer[1][1], abs=2e-3)
    assert abs(nearer[1][1] - near[1][1]) > 1e-2
    assert abs(near[0][1] - full[0][1]) > 1e-2  # the stretch after the horizon counts: the test can tell them apart


def test_bf16_stays_close_to_fp32(lm) -> None:
    """The checker's default numerics on a CPU with AVX-512 BF16 (or a GPU): within a few hundredths of a nat
    per token of the published fp32 weights."""
    from mtcheck.lm.model import LanguageModel

    fast = LanguageModel(lm.resolved, precision="bf16")
    assert fast.signature()["precision"] == "bf16"
    text = ARTICLE * 3
    exact = [t.surprisal for t in lm.score(text)]
    rounded = [t.surprisal for t in fast.score(text)]
    diffs = [abs(a - b) for a, b in zip(exact, rounded, strict=True)]
    assert statistics.mean(diffs) < 0.15
    assert abs(statistics.mean(exact) - statistics.mean(rounded)) < 0.1


def test_a_check_is_one_pass_over_the_sentences(checker, monkeypatch) -> None:
    """No separate article-context pass and no pass per sentence for fluency: `score` is never called, and
    `score_units` once per article."""
    from mtcheck.lm.model import LanguageModel
    from mtcheck.reading.formats import text_article

    calls = []
    real = LanguageModel.score_units

    def counted(self, *args, **kwargs):
        calls.append(len(args[0]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LanguageModel, "score", lambda *a, **k: pytest.fail("an extra article pass"))
    monkeypatch.setattr(LanguageModel, "score_units", counted)
    report = checker.check(text_article(ARTICLE))
    assert calls[0] == 4 and len(calls) == 1  # four sentences, one pass (score_edits would add a second)
    assert report.flags and any("NATO He will" in f.text for f in report.flags)
    assert all(s.fluency is not None for s in report.segments if s.kind == "sentence")
