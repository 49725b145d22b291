"""`mtcheck eval --articles`: the article figures on hand-made articles with known answers, and the command on a
tiny annotated file through the real checker."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mtcheck.core.errors import MtcheckError
from mtcheck.evaluate.articles import AnnotatedArticle, ArticleOutcome, ErrorSpan, article_metrics, load_articles

GOOD = "The cat sat on the mat. He went home."
BAD = "The cat sat on the mat. He go home."  # "He go" [24, 29): a major fluency error


def _words_of(text: str, start: int, end: int, p: float) -> tuple:
    import re

    return tuple(
        (m.start(), m.end(), p) for m in re.finditer(r"[\w’'\-]+", text) if m.start() >= start and m.end() <= end
    )


def _cases() -> tuple[list[AnnotatedArticle], list[ArticleOutcome]]:
    items = [
        AnnotatedArticle(
            "a",
            BAD,
            "d1",
            "sysA",
            False,
            (ErrorSpan(24, 29, "major", "Fluency/Grammar"),),
            ((0, 23, 0.0), (24, 35, 5.0)),
        ),
        AnnotatedArticle("b", GOOD, "d1", "sysB", False, (), ((0, 23, 0.0), (24, 36, 0.0))),
        AnnotatedArticle("h", GOOD, "d1", "refA", True),
    ]
    outcomes = [
        ArticleOutcome(
            ((24, 29, "major"),),
            _words_of(BAD, 0, 23, 0.1) + _words_of(BAD, 24, 35, 0.8),
            50.0,
            0.6,
            "quarantine",
            1.0,
            bad_words_per_sentence=1.5,
            bad_words_worst_fifth=2.0,
        ),
        ArticleOutcome(
            (),
            _words_of(GOOD, 0, 36, 0.1),
            90.0,
            0.1,
            "accept",
            1.0,
            bad_words_per_sentence=0.4,
            bad_words_worst_fifth=0.2,
        ),
        # the score head reads the human translation as worse than sysB: the AUC says so
        ArticleOutcome(
            ((0, 3, "minor"),),
            _words_of(GOOD, 0, 36, 0.05),
            95.0,
            0.05,
            "accept",
            1.0,
            bad_words_per_sentence=0.5,
            bad_words_worst_fifth=0.1,
        ),
    ]
    return items, outcomes


def test_the_article_figures_on_known_answers() -> None:
    m = article_metrics(*_cases())
    assert (m.articles, m.words, m.rated_articles) == (3, 27, 2)
    assert m.bad_share == pytest.approx({"major": 2 / 18, "all": 2 / 18, "fluency": 2 / 18})
    assert m.word_mcc == pytest.approx({"major": 1.0, "all": 1.0, "fluency": 1.0})  # exactly the error's words
    assert m.word_mcc_major_flags == pytest.approx(1.0)
    assert m.flags == {"major": 1, "all": 1} and m.precision == {"major": 1.0, "all": 1.0}
    assert m.recall == {"major": 1.0, "all": 1.0}
    # the ladder's claim: the major flag lies on a rater's major error
    assert m.on_major_error == {"major": 1.0, "critical": None, "flags": {"major": 1, "critical": 0}}
    # expected BAD words per segment 0.6, 2.4, 0.6, 0.3 against penalties 0, 5, 0, 0; lengths 6, 3, 6, 3 words
    assert m.segment_pearson == pytest.approx(
        {"predicted_bad": 1.0, "expected_bad_words": 0.98910, "flagged": 1.0, "words": -((1 / 3) ** 0.5)}, abs=1e-5
    )
    assert m.systems == 2
    assert m.system_pairwise == {
        "predicted_bad": 1.0,
        "fluency": 1.0,
        "bad_words_per_sentence": 1.0,
        "bad_words_worst_fifth": 1.0,
    }
    # two rated articles: the cleaner in the second quarter, the worse in the fourth
    assert [sum(q.values()) for q in m.gate_by_quarter] == [0, 1, 0, 1]
    assert m.gate_by_quarter[3]["quarantine"] == 1 and m.gate_by_quarter[1]["accept"] == 1
    assert (m.human_articles, m.human_major_share, m.human_accepted_share) == (1, 0.0, 1.0)
    # both MT versions read worse than the human one, except sysB's major density, tied with it at 0
    assert m.auc_human_vs_mt == pytest.approx(
        {
            "predicted_bad": 1.0,
            "fluency": 1.0,
            "bad_words_per_sentence": 0.5,
            "bad_words_worst_fifth": 1.0,  # the human article's worst fifth reads lowest
            "major_density": 0.75,
        }
    )
    assert m.seconds_per_1k_words == pytest.approx(3000 / 27)
    line = next(x for x in m.table().splitlines() if x.startswith("word MCC, all flags"))
    assert line.endswith("  1.000 / 1.000 / 1.000")


def test_a_flag_off_the_errors_costs_precision_and_mcc() -> None:
    items, outcomes = _cases()
    outcomes[0] = ArticleOutcome(((4, 7, "major"),), outcomes[0].word_bad, 50.0, 0.6, "accept", 1.0)  # "cat"
    m = article_metrics(items, outcomes)
    assert m.precision == {"major": 0.0, "all": 0.0} and m.recall == {"major": 0.0, "all": 0.0}
    assert m.on_major_error["major"] == 0.0
    # a critical flag on a minor error: on an error, not on a major one
    minor = [AnnotatedArticle(*list(vars(items[0]).values())[:5], (ErrorSpan(24, 29, "minor", "Fluency/Grammar"),),
                              items[0].segments)]  # fmt: skip
    graded = article_metrics(minor, [ArticleOutcome(((24, 29, "critical"),), (), None, None, "reject", 1.0)])
    assert graded.precision["major"] == 1.0 and graded.on_major_error["critical"] == 0.0
    assert m.word_mcc["major"] < 0


def test_word_tags_are_measured_apart_from_the_flags() -> None:
    """The report's word tags (words tagged BAD) have their own MCC row; the flags' figures do not move."""
    items, outcomes = _cases()
    # "He go" tagged BAD, and "cat" too in the same article: MCC below 1; the other articles tag nothing
    tags = [((4, 7), (24, 26), (27, 29)), (), ((0, 3),)]
    tagged = [ArticleOutcome(*list(vars(o).values())[:6], t) for o, t in zip(outcomes, tags, strict=True)]
    m = article_metrics(items, tagged)
    assert m.word_mcc == article_metrics(items, outcomes).word_mcc
    tp, fp, fn, tn = 2, 1, 0, 15
    expected = (tp * tn - fp * fn) / ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5
    assert m.word_tags_mcc == pytest.approx({"major": expected, "all": expected, "fluency": expected})
    assert "word tags" in m.table()
    assert article_metrics(items, outcomes).word_tags_mcc == {}  # without tags: no row figures


def _mcc(tp: int, fp: int, fn: int, tn: int) -> float:
    return (tp * tn - fp * fn) / ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5


def test_the_human_ceiling_is_one_rater_against_the_others() -> None:
    """Two raters: r1 marks "He go" major fluency, r2 marks "go" major accuracy. Each rater's words are read
    against the other's (9 words, twice), and the word tags ("go") against the same labels."""
    errors = (ErrorSpan(24, 29, "major", "Fluency/Grammar", "r1"), ErrorSpan(27, 29, "major", "Accuracy/Other", "r2"))
    items = [AnnotatedArticle("a", BAD, "d1", "sysA", False, errors, ((0, 23, 0.0), (24, 35, 5.0)), (2, 2))]
    outcome = ArticleOutcome((), _words_of(BAD, 0, 35, 0.1), 50.0, 0.1, "accept", 1.0, ((27, 29),))
    m = article_metrics(items, [outcome])
    # major: r1 says He, go against r2's go; r2 says go against r1's He, go: tp 2, fp 1, fn 1, tn 14
    # fluency: r1 says He, go against nothing; r2 says nothing against He, go
    assert m.raters["rater_mcc"] == pytest.approx(
        {"major": _mcc(2, 1, 1, 14), "all": _mcc(2, 1, 1, 14), "fluency": _mcc(0, 2, 2, 14)}
    )
    # the tag "go" against r2's go (tp) and against r1's He, go (tp, fn)
    assert m.raters["tags_mcc"]["major"] == pytest.approx(_mcc(2, 0, 1, 15))
    assert m.raters["rater_major_precision"] == 1.0  # each major span lies on the other's error
    assert m.raters["rater_major_recall"] == pytest.approx(2 / 3)  # go of go; go of He, go
    assert m.major_fluency_share == 1.0  # both major words lie under r1's fluency error
    assert "human ceiling" in m.table()
    # without rater names, or where each segment had one rater (raters taking turns), there is no ceiling to read
    anonymous = [AnnotatedArticle("a", BAD, "d1", "sysA", False, tuple(ErrorSpan(e.start, e.end, e.severity,
                                  e.category) for e in errors), items[0].segments, (2, 2))]  # fmt: skip
    assert article_metrics(anonymous, [outcome]).raters == {}
    assert "human ceiling" not in article_metrics(anonymous, [outcome]).table()
    in_turns = [AnnotatedArticle("a", BAD, "d1", "sysA", False, errors, items[0].segments, (1, 1))]
    assert article_metrics(in_turns, [outcome]).raters == {}


def test_flag_confidence_is_measured_against_the_share_of_its_words_on_an_error() -> None:
    """One flag per rated article: "He go" (both words on the error) at 0.8, "cat sat" (neither) at 0.4; the
    human article's flag is not rated and not counted."""
    items, outcomes = _cases()
    flags = [((24, 29, "major"),), ((4, 11, "minor"),), ((0, 3, "minor"),)]
    confidence = [(0.8,), (0.4,), (0.9,)]
    outcomes = [
        ArticleOutcome(f, o.word_bad, o.fluency, o.predicted_bad, o.decision, o.seconds, None, c, c)
        for o, f, c in zip(outcomes, flags, confidence, strict=True)
    ]
    fc = article_metrics(items, outcomes).flag_calibration
    assert (fc["flags"], fc["words"]) == (2, 4)
    assert fc["confidence"] == pytest.approx(0.6) and fc["on_error"] == pytest.approx(0.5)
    assert fc["ece"] == pytest.approx((0.2 + 0.4) / 2)  # |0.8 - 1| and |0.4 - 0|, one bin each
    assert fc["word_ece"] == pytest.approx((2 * 0.2 + 2 * 0.4) / 4)
    assert "ECE per flag" in article_metrics(items, outcomes).table()
    assert article_metrics(*_cases()).flag_calibration == {}  # no confidences recorded: no row


def test_a_bad_line_names_the_file_and_line(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "x", "text": GOOD}) + "\n" + '{"id": "y"}\n', encoding="utf-8")
    with pytest.raises(MtcheckError, match=r"a\.jsonl: line 2: not an annotated article"):
        load_articles(path)
    assert [a.id for a in load_articles(path, limit=1)] == ["x"]


def test_the_headline_line_goes_to_the_checker_as_the_title() -> None:
    from mtcheck.evaluate.articles import headline_feed_item, read_annotated
    from mtcheck.reading import feed_item_article

    headline = "Talks resume in Geneva - China News Network."
    text = headline + "\n\n" + BAD + "\n\n" + GOOD
    item = AnnotatedArticle("a", text, "d1", "sysA", False)
    assert item.feed_item() == {"id": "a", "title": headline, "text": BAD + "\n\n" + GOOD}
    article = feed_item_article(item.feed_item(), "#1", "a")
    # the offsets of the annotations hold: the article's text is the file's text
    assert article.text == text
    assert [s.kind for s in article.segments][:2] == ["title", "sentence"]
    assert article.text[article.segments[0].start : article.segments[0].end] == text.split("\n\n")[0]
    # read as plain text, the same headline (it ends with a full stop) would be a body sentence
    assert feed_item_article({"id": "a", "text": text}, "#1", "a").segments[0].kind == "sentence"
    # what the harness reads: the same article
    assert [s.kind for s in read_annotated(item, "#1", "a").segments][:2] == ["title", "sentence"]
    # where the reader would join title and body otherwise than the file, the text is read whole
    spaced = AnnotatedArticle("b", headline + "\n\n\n" + GOOD, "d1", "sysA", False)
    assert feed_item_article(spaced.feed_item(), "#1", "b").text != spaced.text
    whole = read_annotated(spaced, "#1", "b")
    assert whole.text == spaced.text and whole.segments[0].kind == "sentence"
    # no one-line first paragraph before a body: the text goes whole
    for whole in (BAD, "Two lines\nof headline\n\n" + GOOD, "Spaced  headline\n\n" + GOOD, "Only a headline\n\n"):
        assert headline_feed_item("x", whole) == {"id": "x", "text": whole}


@pytest.mark.model
def test_eval_articles_runs_the_checker_over_a_small_file(tmp_path) -> None:
    from mtcheck.cli import main

    path = tmp_path / "tiny.jsonl"
    rows = [
        {
            "id": "a",
            "text": "Talks resume.\n\n" + BAD,
            "doc": "d1",
            "who": "sysA",
            "human": False,
            "errors": [{"start": 39, "end": 44, "severity": "major", "category": "Fluency/Grammar"}],
            "segments": [{"start": 15, "end": 38, "penalty": 0.0}, {"start": 39, "end": 50, "penalty": 5.0}],
        },
        {"id": "h", "text": "Talks resume.\n\n" + GOOD, "doc": "d1", "who": "refA", "human": True},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", "--articles", str(path), "--quiet", "--records", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "tiny.jsonl (articles, source unknown)" in result.output
    assert "articles / words" in result.output and "human articles (1)" in result.output
    records = [json.loads(x) for x in (tmp_path / "r" / "tiny.articles.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["a", "h"] and all(r["decision"] for r in records)


def test_docs_keeps_every_version_of_the_first_documents(tmp_path) -> None:
    path = tmp_path / "a.jsonl"
    rows = [("s1", "d1"), ("s1", "d2"), ("s2", "d1"), ("s2", "d2"), ("s3", "d3")]
    path.write_text("".join(json.dumps({"id": f"{w}-{d}", "text": GOOD, "who": w, "doc": d}) + "\n" for w, d in rows))
    assert [a.id for a in load_articles(path, docs=1)] == ["s1-d1", "s2-d1"]
