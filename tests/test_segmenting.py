from __future__ import annotations

from pathlib import Path

import pytest

from mtcheck.core.article import SEGMENT_KINDS
from mtcheck.reading.segmenting import segment, split_sentences

SEEDS = sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))
SEED_000 = next(p for p in SEEDS if p.name.startswith("000_"))
SEED_001 = next(p for p in SEEDS if p.name.startswith("001_"))


def _seg(text: str, **kw) -> list[tuple[str, str]]:
    segs, _ = segment(text, **kw)
    return [(s.kind, text[s.start : s.end]) for s in segs]


def _sentences(par: str) -> list[str]:
    return [par[s:e] for s, e in split_sentences(par)]


def _kind_of(text: str, piece: str) -> list[str]:
    return [k for k, t in _seg(text) if t == piece]


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_seed_offsets_are_consistent(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    segs, pars = segment(text)
    assert segs and pars
    prev_end = 0
    for s in segs:
        piece = text[s.start : s.end]
        assert piece and piece == piece.strip()
        assert s.kind in SEGMENT_KINDS
        assert s.start >= prev_end  # in order, non-overlapping
        prev_end = s.end
        ps, pe = pars[s.paragraph]
        assert ps <= s.start and s.end <= pe
        assert any(c.isalnum() for c in piece) or s.kind == "boilerplate"
    for ps, pe in pars:
        assert text[ps:pe] == text[ps:pe].strip() != ""
    # Every non-blank line is one paragraph, and every paragraph is covered by segments.
    assert [text[a:b] for a, b in pars] == [ln.strip() for ln in text.split("\n") if ln.strip()]
    assert {s.paragraph for s in segs} == set(range(len(pars)))


def test_seed_titles() -> None:
    for path, title in (
        (SEED_000, "US-Russia talks over Ukraine ‘useful’ but no progress made | US foreign policy"),
        (SEED_001, "U.S.-Russia negotiated for 8 hours over ‘Ukrainian crisis’… there was no concession"),
    ):
        segs = _seg(path.read_text(encoding="utf-8"))
        assert segs[0] == ("title", title)
        assert [k for k, _ in segs].count("title") == 1


def test_seed_000_broken_boundaries() -> None:
    text = SEED_000.read_text(encoding="utf-8")
    pieces = [t for k, t in _seg(text) if k == "sentence"]
    # A full stop before a lowercase word is still a boundary when no abbreviation precedes it.
    assert any(t.endswith("to a meeting in Brussels on Wednesday.") for t in pieces)
    assert "between Russia and all NATO members." in pieces
    # The stray "." belongs to the sentence before it; no punctuation-only sentence.
    assert any(t.endswith("the decision is the country’s sovereign right. .") for t in pieces)
    assert any(t.endswith("directly represented in talks with Russia. .") for t in pieces)
    assert all(any(c.isalnum() for c in t) for t in pieces)
    assert any(t.endswith("pledge that NATO He will.") for t in pieces)
    assert "They no longer accept new members like Ukraine or Georgia." in pieces
    assert "Sherman said Russia has a difficult choice ahead." in pieces
    # Quotes and ellipsis without spaces stay inside the sentence.
    assert any(t.startswith("“If this doesn’t happen…we very much") and t.endswith("continent.”") for t in pieces)
    assert any(t.endswith("“things that are not Russia’s priority.”") for t in pieces)


def test_seed_000_boilerplate() -> None:
    text = SEED_000.read_text(encoding="utf-8")
    assert _kind_of(text, "Leave a reply:") == ["boilerplate"]
    assert _kind_of(text, "Your email address will not be published.") == ["boilerplate"]


def test_seed_001_caption_byline_and_boilerplate() -> None:
    text = SEED_001.read_text(encoding="utf-8")
    segs = _seg(text)
    assert ("byline", "Geneva = Associated Press") in segs
    i = segs.index(("byline", "Geneva = Associated Press"))
    kind, caption = segs[i - 1]
    assert kind == "sentence"
    assert caption.startswith("U.S. Deputy Secretary of State Wendy Sherman")  # "U.S." does not split
    assert caption.endswith("on the 10th.")
    assert ("byline", "Washington = Jeong Sang-won correspondent") in segs
    assert ("boilerplate", ".") in segs
    assert ("boilerplate", "Leave a Comment") in segs
    akismet = "This site uses Akismet to reduce spam. Learn how your comment data is processed."
    assert ("boilerplate", akismet) in segs
    assert not any(k == "sentence" and "Akismet" in t for k, t in segs)


def test_seed_001_abbreviations_and_numbers() -> None:
    pieces = [t for k, t in _seg(SEED_001.read_text(encoding="utf-8")) if k == "sentence"]
    assert any(t.startswith("The U.S. repeatedly demanded the withdrawal") for t in pieces)
    assert any("the U.S. commitment to the international principles" in t for t in pieces)
    assert any("deployed 100,000 troops" in t and t.endswith("increased.") for t in pieces)


@pytest.mark.parametrize(
    "par, expected",
    [
        (
            "Dr. Smith met Mr. Jones and Mrs. Lee. Ms. Park left.",
            ["Dr. Smith met Mr. Jones and Mrs. Lee.", "Ms. Park left."],
        ),
        (
            "The U.S. Army and the U.K. agreed. Talks end.",
            ["The U.S. Army and the U.K. agreed.", "Talks end."],
        ),
        ("He moved to the U.S. The next day he left.", ["He moved to the U.S.", "The next day he left."]),
        (
            "It was signed Jan. 5 at St. Paul by No. 10 staff, e.g. aides. Done.",
            ["It was signed Jan. 5 at St. Paul by No. 10 staff, e.g. aides.", "Done."],
        ),
        (
            "J. K. Rowling wrote vs. critics, i.e. everyone. Yes.",
            ["J. K. Rowling wrote vs. critics, i.e. everyone.", "Yes."],
        ),
        (
            "About 100,000 people, or 3.5 percent, came. Then they left.",
            ["About 100,000 people, or 3.5 percent, came.", "Then they left."],
        ),
        (
            "He paused… and went on. He stopped… The end.",
            ["He paused… and went on.", "He stopped…", "The end."],
        ),
        ("He paused... and went on. She said.", ["He paused... and went on.", "She said."]),
        ("“It is over.” She left.", ["“It is over.”", "She left."]),
        ("She said “it is over.” Then she left.", ["She said “it is over.”", "Then she left."]),
        ('He said "no." They left.', ['He said "no."', "They left."]),
        ("“Why?” he asked. “Because!” She left.", ["“Why?” he asked.", "“Because!”", "She left."]),
        ("Prices rose – sharply — in 2014. The end", ["Prices rose – sharply — in 2014.", "The end"]),
        (
            "in Brussels on Wednesday. between Russia and NATO.",
            ["in Brussels on Wednesday.", "between Russia and NATO."],
        ),
        ("the country’s sovereign right. .", ["the country’s sovereign right. ."]),
        ("talks with Russia. . European states too.", ["talks with Russia. .", "European states too."]),
        ("NATO He will. They no longer accept", ["NATO He will.", "They no longer accept"]),
        ("A sentence. *", ["A sentence. *"]),
    ],
)
def test_split_sentences(par: str, expected: list[str]) -> None:
    assert _sentences(par) == expected


def test_sentence_offsets_skip_whitespace() -> None:
    par = "One.   Two!  \t Three?"
    spans = split_sentences(par)
    assert spans == [(0, 4), (7, 11), (15, 21)]


def test_plain_sentence_is_one_segment() -> None:
    text = "Talks end in Geneva\n\nSherman said Russia has a difficult choice ahead.\n"
    segs, pars = segment(text)
    assert [(s.kind, text[s.start : s.end], s.paragraph) for s in segs] == [
        ("title", "Talks end in Geneva", 0),
        ("sentence", "Sherman said Russia has a difficult choice ahead.", 1),
    ]
    assert pars == [(0, 19), (21, 70)]


def test_single_newlines_make_paragraphs_and_spans_are_stripped() -> None:
    text = "  Headline here  \n  First line.\nSecond line.\n\n\n   \nThird.  "
    segs, pars = segment(text)
    assert [text[a:b] for a, b in pars] == ["Headline here", "First line.", "Second line.", "Third."]
    assert [s.paragraph for s in segs] == [0, 1, 2, 3]


def test_title_heuristic() -> None:
    # A first paragraph ending with a full stop reads as a sentence, not a headline.
    assert _seg("Sherman said Russia has a difficult choice ahead.\n\nMore.")[0][0] == "sentence"
    long_line = " ".join(["word"] * 30)
    assert _seg(long_line + "\n\nMore.")[0][0] == "sentence"
    assert _seg("Will Russia invade?\n\nMore.")[0] == ("title", "Will Russia invade?")
    assert _seg("Talks end in Geneva\n\nMore.", has_title=False)[0] == ("sentence", "Talks end in Geneva")
    long_title = " ".join(["Word"] * 30)
    assert _seg(long_title + "\n\nMore.", force_title=True)[0] == ("title", long_title)


def test_markdown_heading_title_excludes_markers() -> None:
    text = "# Talks end without progress\n\nBody text here."
    segs, _ = segment(text)
    assert segs[0].kind == "title"
    assert text[segs[0].start : segs[0].end] == "Talks end without progress"
    assert segs[0].start == 2


@pytest.mark.parametrize(
    "line",
    [
        "Leave a reply:",
        "Leave a Reply",
        "Required fields are marked *",
        "Share this:",
        "Click to share on Twitter (Opens in new window)",
        "Subscribe to our newsletter",
        "All rights reserved",
        "Copyright © 2022 The Daily. All rights reserved.",
        "Related articles",
        "ADVERTISEMENT",
        "Read more: Russia warns NATO",
        ".",
        "…",
        "*",
        "-",
        "|",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert _kind_of(f"Headline\n\nA sentence.\n\n{line}", line) == ["boilerplate"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Readers should leave a reply to the ministry.",
        "He said all the rights reserved for members were lost.",
        "Advertisement revenue fell.",
        "Share prices fell.",
        "Subscribers to the service complained.",
    ],
)
def test_boilerplate_words_inside_real_sentences_are_sentences(sentence: str) -> None:
    assert _kind_of(f"Headline\n\n{sentence}", sentence) == ["sentence"]


@pytest.mark.parametrize(
    "line",
    [
        "Washington = Jeong Sang-won correspondent",
        "Geneva = Associated Press",
        "By Jane Doe",
        "By Jane Doe, Reuters",
        "Photo: Reuters",
        "Photo by John Smith/AFP",
        "(Photo = Yonhap News)",
        "Reporter Kim Eun-jung",
        "AFP/Getty Images",
        "Reuters",
    ],
)
def test_byline_lines(line: str) -> None:
    assert _kind_of(f"Headline\n\nA sentence.\n\n{line}", line) == ["byline"]


def test_bylines_are_conservative() -> None:
    text = "Headline\n\nBy de-escalation and returning troops, Russia can prove it.\n\nBy Monday the talks were over."
    kinds = [k for k, _ in _seg(text)]
    assert kinds == ["title", "sentence", "sentence"]


def test_trailing_photo_credit_without_sentence_boundary() -> None:
    text = "Headline\n\nSoldiers march in Kyiv on the 10th (Photo = Yonhap News)"
    assert _seg(text)[1:] == [
        ("sentence", "Soldiers march in Kyiv on the 10th"),
        ("byline", "(Photo = Yonhap News)"),
    ]


def test_empty_and_whitespace_text() -> None:
    assert segment("") == ([], [])
    assert segment(" \n\n \t\n") == ([], [])
