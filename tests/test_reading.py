from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError
from mtcheck.reading import inputs
from mtcheck.reading.formats import SUPPORTED_SUFFIXES, iter_inputs, read_articles, read_file

SEEDS = Path(__file__).parent.parent / "seeds"


def _one(path: Path) -> Article:
    articles = read_file(path)
    assert len(articles) == 1
    return articles[0]


def _texts(a: Article, kind: str | None = None) -> list[str]:
    return [a.segment_text(s) for s in a.segments if kind is None or s.kind == kind]


def _cause(path: Path) -> str:
    with pytest.raises(InputError) as exc:
        read_file(path)
    assert exc.value.path == str(path)
    return exc.value.cause


# --- finding files -------------------------------------------------------------------------------
def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".html", ".htm", ".json", ".jsonl")


def test_iter_inputs_expands_folders_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ("b/z.txt", "a.md", "b/c.jsonl", ".secret.txt", ".hidden/x.txt", "notes.docx", "b/page.HTML"):
        (tmp_path / rel).write_text("x", encoding="utf-8")
    got = list(iter_inputs([tmp_path]))
    assert got == [
        tmp_path / "a.md",
        tmp_path / "b" / "c.jsonl",
        tmp_path / "b" / "page.HTML",
        tmp_path / "b" / "z.txt",
    ]


def test_iter_inputs_explicit_file_any_suffix_and_missing(tmp_path: Path) -> None:
    odd = tmp_path / "article.text"
    odd.write_text("Headline\n\nBody.", encoding="utf-8")
    missing = tmp_path / "nope.txt"
    got = list(iter_inputs([odd, str(missing)]))
    assert got[0] == odd
    assert isinstance(got[1], InputError)
    assert got[1].path == str(missing) and got[1].cause == "no such file or folder"
    # An unsupported suffix named explicitly is read as text.
    a = _one(odd)
    assert a.source_format == "txt" and a.title == "Headline"


def test_iter_inputs_folder_without_articles(tmp_path: Path) -> None:
    (tmp_path / "readme.docx").write_text("x", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")
    (got,) = list(iter_inputs([tmp_path]))
    assert isinstance(got, InputError)
    assert got.path == str(tmp_path)
    assert got.cause == "no articles found (looked for .txt, .md, .html, .htm, .json, .jsonl)"


# --- txt and the seeds ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name)
def test_read_seed(path: Path) -> None:
    a = _one(path)
    assert a.path == str(path) and a.id == path.stem and a.source_format == "txt"
    assert a.text == path.read_text(encoding="utf-8")
    assert a.encoding == "utf-8" and a.encoding_note is None
    assert a.title == a.segment_text(a.segments[0]) and a.segments[0].kind == "title"
    for s in a.segments:
        assert a.segment_text(s) == a.segment_text(s).strip() != ""


def test_crlf_is_normalised_and_offsets_point_into_normalised_text(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_bytes(b"Headline\r\n\r\nFirst one. Second one.\rThird.\r\n")
    a = _one(p)
    assert "\r" not in a.text
    assert a.text == "Headline\n\nFirst one. Second one.\nThird.\n"
    assert _texts(a) == ["Headline", "First one.", "Second one.", "Third."]


# --- encodings -----------------------------------------------------------------------------------
def test_utf8_bom_is_not_part_of_text(tmp_path: Path) -> None:
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbfHeadline\n\nBody \xe2\x80\x9cquoted\xe2\x80\x9d.")
    a = _one(p)
    assert a.text.startswith("Headline")
    assert a.encoding == "utf-8" and a.encoding_note is None
    assert a.segments[0].start == 0 and a.title == "Headline"


def test_cp1252_fallback(tmp_path: Path) -> None:
    p = tmp_path / "legacy.txt"
    p.write_bytes(b"Headline\n\nHe said \x93we agree\x94 and left \x96 quickly.")
    a = _one(p)
    assert a.text == "Headline\n\nHe said “we agree” and left – quickly."
    assert a.encoding == "cp1252"
    assert a.encoding_note == "not valid UTF-8; decoded as cp1252"


def test_latin1_fallback_when_cp1252_cannot_decode(tmp_path: Path) -> None:
    p = tmp_path / "latin.txt"
    # 0x81 is undefined in cp1252; one stray byte in an otherwise plain text is still text.
    p.write_bytes(b"Headline\n\nCaf\xe9 owners in Z\xfcrich met on Monday and agreed on prices.\x81")
    a = _one(p)
    assert a.encoding == "latin-1"
    assert "Café owners in Zürich" in a.text
    assert a.encoding_note == "not valid UTF-8; decoded as latin-1"


def test_utf16_with_bom(tmp_path: Path) -> None:
    p = tmp_path / "wide.txt"
    p.write_bytes("Headline\r\n\r\nIt’s done.".encode("utf-16"))
    a = _one(p)
    assert a.text == "Headline\n\nIt’s done."
    assert a.encoding == "utf-16"
    assert a.encoding_note and "UTF-16" in a.encoding_note


def test_undecodable_bytes(tmp_path: Path) -> None:
    p = tmp_path / "garbage.txt"
    p.write_bytes(bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xC3, 0x28, 0xA0]) * 20 + b" text")
    assert _cause(p) == "undecodable bytes: not UTF-8 and no legacy encoding fits"


# --- unreadable files ----------------------------------------------------------------------------
def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    assert _cause(p) == "empty file"
    q = tmp_path / "blank.txt"
    q.write_bytes(b"  \n\n\t\n")
    assert _cause(q).startswith("empty file")


def test_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "image.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert _cause(p) == "binary file, not text"
    q = tmp_path / "controls.txt"
    q.write_bytes(bytes(range(1, 32)) * 10)
    assert _cause(q) == "binary file, not text"


def test_unreadable_file(tmp_path: Path) -> None:
    p = tmp_path / "secret.txt"
    p.write_text("Headline\n\nBody.", encoding="utf-8")
    p.chmod(0)
    try:
        if os.access(p, os.R_OK):
            pytest.skip("running with privileges that read a mode-000 file")
        assert _cause(p) == "cannot read: permission denied"
    finally:
        p.chmod(0o644)


def test_permission_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Same path as the chmod test, but also exercised when the tests run as root.
    p = tmp_path / "secret.txt"
    p.write_text("Headline", encoding="utf-8")

    def deny(path, flags, *args) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(inputs.os, "open", deny)  # the one place that opens inputs
    assert _cause(p) == "cannot read: permission denied"


def test_read_articles_yields_error_instead_of_raising(tmp_path: Path) -> None:
    p = tmp_path / "empty.md"
    p.write_bytes(b"")
    (err,) = list(read_articles(p))
    assert isinstance(err, InputError) and err.cause == "empty file"


# --- markdown ------------------------------------------------------------------------------------
def test_markdown(tmp_path: Path) -> None:
    p = tmp_path / "story.md"
    p.write_text(
        "# Talks *end* without progress\n\n"
        "![Sherman in Geneva](img/sherman.jpg)\n\n"
        "The **talks** in [Geneva](https://example.com/geneva) ended. Nothing changed.\n\n"
        "- Russia wants guarantees.\n",
        encoding="utf-8",
    )
    a = _one(p)
    assert a.source_format == "md" and a.id == "story"
    assert a.title == "Talks end without progress"
    assert "#" not in a.text and "](" not in a.text and "*" not in a.text
    assert _texts(a) == [
        "Talks end without progress",
        "The talks in Geneva ended.",
        "Nothing changed.",
        "Russia wants guarantees.",
    ]
    assert a.segments[0].kind == "title"


# --- HTML ----------------------------------------------------------------------------------------
PAGE = """<!doctype html>
<html><head><title>Site title | News</title><style>p { color: red }</style>
<script>var tracking = "do not show";</script></head>
<body>
<nav><p>Home | World | Sports</p></nav>
<header><h1>Daily News</h1></header>
<aside><p>Most read: something else</p></aside>
<article>
  <header><h1>Talks end &amp; nothing   changes</h1></header>
  <p>Sherman &ldquo;met&rdquo; Ryabkov in <b>Geneva</b>.<br>They talked for hours.</p>
  <script>document.write("injected")</script>
  <figure><img src="x.jpg"><figcaption>Sherman in Geneva. Geneva = Associated Press</figcaption></figure>
  <blockquote><p>We were resolute.</p></blockquote>
  <ul><li>First point.</li></ul>
</article>
<footer><p>Copyright 2022</p></footer>
</body></html>"""


def test_html_prefers_article_and_drops_scripts(tmp_path: Path) -> None:
    p = tmp_path / "page.html"
    p.write_text(PAGE, encoding="utf-8")
    a = _one(p)
    assert a.source_format == "html" and a.id == "page"
    assert a.title == "Talks end & nothing changes"
    for gone in ("tracking", "injected", "color", "Home | World", "Most read", "Copyright", "Daily News"):
        assert gone not in a.text
    assert a.text == (
        "Talks end & nothing changes\n\n"
        "Sherman “met” Ryabkov in Geneva. They talked for hours.\n\n"
        "Sherman in Geneva. Geneva = Associated Press\n\n"
        "We were resolute.\n\n"
        "First point."
    )
    assert ("byline", "Geneva = Associated Press") in [(s.kind, a.segment_text(s)) for s in a.segments]
    assert a.segments[0].kind == "title"


def test_html_title_tag_and_body_fallback(tmp_path: Path) -> None:
    p = tmp_path / "plain.htm"
    p.write_text("<html><head><title>A headline</title></head><body><div>Only a div. Two.</div></body></html>")
    a = _one(p)
    assert a.title == "A headline"
    assert a.text == "A headline\n\nOnly a div. Two."


def test_html_without_main_text(tmp_path: Path) -> None:
    p = tmp_path / "empty.html"
    p.write_text("<html><head><script>x()</script></head><body><nav><p>Menu</p></nav></body></html>")
    assert _cause(p) == "no main text found in HTML"


# --- JSON and JSONL ------------------------------------------------------------------------------
def test_json_single_object(tmp_path: Path) -> None:
    p = tmp_path / "one.json"
    p.write_text(json.dumps({"headline": "Talks end", "text": "It ended. Nothing changed.", "link": "https://x"}))
    a = _one(p)
    assert (a.path, a.id, a.title, a.url, a.source_format) == (
        str(p),
        "one",
        "Talks end",
        "https://x",
        "json",
    )
    assert a.text == "Talks end\n\nIt ended. Nothing changed."
    assert [(s.kind, a.segment_text(s)) for s in a.segments] == [
        ("title", "Talks end"),
        ("sentence", "It ended."),
        ("sentence", "Nothing changed."),
    ]


def test_json_list_and_items_wrapper(tmp_path: Path) -> None:
    p = tmp_path / "feed.json"
    items = [
        {"id": "a1", "title": "First", "body": "One."},
        {"content": "<p>Breaking &amp; more</p><p>Three.</p>"},
    ]
    p.write_text(json.dumps({"items": items}))
    first, second = read_file(p)
    assert (first.path, first.id, first.text) == (f"{p}#1", "a1", "First\n\nOne.")
    assert (second.path, second.id, second.title) == (f"{p}#2", "feed-2", None)
    assert second.text == "Breaking & more\n\nThree."  # HTML body: tags gone, entities decoded
    # No title field: the first paragraph is not guessed to be a title.
    assert [s.kind for s in second.segments] == ["sentence", "sentence"]
    assert [s.kind for s in first.segments] == ["title", "sentence"]


def test_json_syntax_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"title": "x",\n  "body": oops}')
    assert _cause(p).startswith("invalid JSON at line 2 column 11")


def test_jsonl_bad_line_does_not_lose_good_lines(tmp_path: Path) -> None:
    p = tmp_path / "feed.jsonl"
    lines = [
        json.dumps({"guid": "g1", "title": "First", "body": "One."}),
        "",
        "{not json",
        json.dumps({"title": "No body here", "url": "https://x"}),
        json.dumps({"title": "Fourth", "description": "Four."}),
    ]
    p.write_text("\n".join(lines) + "\n")
    got = list(read_articles(p))
    assert len(got) == 4
    good = [g for g in got if isinstance(g, Article)]
    bad = [g for g in got if isinstance(g, InputError)]
    assert [(a.path, a.id, a.text, a.source_format) for a in good] == [
        (f"{p}#1", "g1", "First\n\nOne.", "jsonl"),
        (f"{p}#5", "feed-5", "Fourth\n\nFour.", "jsonl"),
    ]
    assert bad[0].path == f"{p}#3" and bad[0].cause.startswith("invalid JSON at line 3 column")
    assert bad[1].path == f"{p}#4"
    assert "line 4" in bad[1].cause and "no text field" in bad[1].cause
    # The convenience API raises the first error.
    with pytest.raises(InputError) as exc:
        read_file(p)
    assert exc.value.path == f"{p}#3"


def test_jsonl_with_bom_and_crlf(tmp_path: Path) -> None:
    p = tmp_path / "win.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"title": "T", "text": "A.\r\nB."}).encode() + b"\r\n")
    (a,) = read_file(p)
    assert a.text == "T\n\nA.\nB."
    assert a.path == f"{p}#1"


def test_read_folder_end_to_end(tmp_path: Path) -> None:
    for seed in SEEDS.glob("*.txt"):
        shutil.copy(seed, tmp_path / seed.name)
    (tmp_path / "missing-body.jsonl").write_text('{"title": "x"}\n')
    results = []
    for item in iter_inputs([tmp_path]):
        assert isinstance(item, Path)
        results.extend(read_articles(item))
    assert [type(r).__name__ for r in results] == ["Article", "Article", "InputError"]
