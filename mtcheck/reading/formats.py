"""Read articles from .txt, .md, .html/.htm, .json and .jsonl files into segmented `Article`s.

Text is decoded (UTF-8, else a documented fallback) and newlines are normalised to "\\n" before
anything else; every offset in an Article (segments, paragraphs) refers to that normalised text, not
to the bytes on disk. Markdown and HTML are converted to plain text first, so offsets point into the
plain text, too.

Failures are `InputError`s with a one-line cause. `read_articles` yields them next to the good
articles (a bad JSONL line does not lose the others); `read_file` raises the first one.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Tag

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError
from mtcheck.reading.inputs import read_input, shown, why_unreadable
from mtcheck.reading.segmenting import segment

__all__ = ["SUPPORTED_SUFFIXES", "iter_inputs", "read_articles", "read_file", "decode_bytes", "walk"]

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl")
_NO_ARTICLES = "no articles found (looked for " + ", ".join(SUPPORTED_SUFFIXES) + ")"


# --- finding input files -------------------------------------------------------------------------
def iter_inputs(paths: Sequence[str | Path], exclude: Path | None = None) -> Iterator[Path | InputError]:
    """Expand files and folders into files to read, in order.

    Folders are searched recursively (sorted; hidden files and folders, unsupported suffixes and the `exclude`
    folder skipped). A file named explicitly is always yielded, whatever its suffix (read as text).
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(walk(path, exclude))
            if not found:
                yield InputError(shown(path), _NO_ARTICLES)
            yield from found
        else:
            why = why_unreadable(path)
            yield path if why is None else InputError(shown(path), why)


def walk(folder: Path, exclude: Path | None = None) -> Iterator[Path]:
    """Every file under `folder` with a supported suffix, hidden files and folders and the `exclude` folder (the
    run's own output) skipped. Whatever stands at such a name is yielded, a broken link or a FIFO too: opening
    it (`read_input`) says why it cannot be read, so no input is dropped unseen. Sorted within each folder."""
    skip = exclude.resolve() if exclude is not None else None
    for root, dirs, files in os.walk(folder):
        # pruned in place: hidden folders, and the output folder (a run never reads what it writes)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (skip is None or Path(root, d).resolve() != skip))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(SUPPORTED_SUFFIXES):
                yield Path(root, name)


# --- bytes to text -------------------------------------------------------------------------------
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"PK\x03\x04", b"\x1f\x8b", b"\xff\xd8\xff", b"GIF8", b"\x7fELF")
_UNDECODABLE = "undecodable bytes: not UTF-8 and no legacy encoding fits"


def _looks_like_text(s: str) -> bool:
    """Few control characters, mostly letters, and (this is English news) mostly ASCII letters."""
    if not s:
        return True
    controls = sum(1 for c in s if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v")
    if controls > max(1, len(s) // 100):
        return False
    visible = [c for c in s if not c.isspace()]
    letters = [c for c in visible if c.isalpha()]
    if visible and len(letters) < 0.5 * len(visible):
        return False
    non_ascii = sum(1 for c in letters if not c.isascii())
    # A wrong legacy decode of e.g. Shift-JIS turns into a soup of accented letters.
    return not (letters and non_ascii > 0.3 * len(letters))


def decode_bytes(data: bytes, where: str, html: bool = False) -> tuple[str, str, str | None]:
    """Return (text with "\\n" newlines, encoding, encoding_note) or raise InputError."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32")):
        if data.startswith(bom):  # checked before UTF-16: the UTF-32-LE BOM starts with FF FE
            return _decoded(data, codec, where, "not UTF-8; decoded as UTF-32 (byte-order mark)")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decoded(data, "utf-16", where, "not UTF-8; decoded as UTF-16 (byte-order mark)")
    if b"\x00" in data or data.startswith(_BINARY_MAGIC):
        half = len(data) / 2
        if len(data) > 3 and max(data[0::2].count(0), data[1::2].count(0)) > 0.4 * half:
            raise InputError(where, "binary file, not text (looks like UTF-16 without a byte-order mark)")
        raise InputError(where, "binary file, not text")
    try:
        text = data.decode("utf-8-sig")  # drops a BOM if present
    except UnicodeDecodeError:
        pass
    else:
        if _mostly_controls(text):
            raise InputError(where, "binary file, not text")
        return _normalise_newlines(text), "utf-8", None
    candidates = ["cp1252", "latin-1"]
    if html:  # honour a declared charset before guessing
        m = re.search(rb"""charset\s*=\s*["']?([\w-]+)""", data[:4096], re.IGNORECASE)
        if m:
            declared = m.group(1).decode("ascii").lower()
            try:
                codecs.lookup(declared)
                candidates.insert(0, declared)
            except LookupError:
                pass
    for codec in candidates:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return _normalise_newlines(text), codec, f"not valid UTF-8; decoded as {codec}"
    # C0 control bytes mean binary data; high bytes alone mean text in an encoding we cannot tell.
    if sum(1 for x in data if x < 0x20 and x not in b"\t\n\r\f\v" or x == 0x7F) > 0.1 * len(data):
        raise InputError(where, "binary file, not text")
    raise InputError(where, _UNDECODABLE)


def _mostly_controls(s: str) -> bool:
    controls = sum(1 for c in s if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v")
    return controls > 0.1 * len(s)


def _decoded(data: bytes, codec: str, where: str, note: str) -> tuple[str, str, str | None]:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        cause = f"undecodable bytes: byte-order mark says {codec.upper()} but decoding fails"
        raise InputError(where, cause) from None
    text = text.removeprefix("\ufeff")
    return _normalise_newlines(text), codec, note


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- reading -------------------------------------------------------------------------------------
def read_file(path: Path) -> list[Article]:
    """All articles in one file; raises the first InputError (use `read_articles` to keep going)."""
    articles = []
    for item in read_articles(path):
        if isinstance(item, InputError):
            raise item
        articles.append(item)
    return articles


def read_articles(path: Path, raw: bytes | None = None) -> Iterator[Article | InputError]:
    """Yield each article of one file (`raw`: its bytes, when the caller read them with `read_input`), or an
    InputError for the file or for one feed item.

    A file-level failure (unreadable, empty, binary, undecodable, invalid JSON) yields one
    InputError and nothing else; in JSON(L) feeds a bad item yields an InputError whose path is
    "file.jsonl#<line>" and the other items still come through.
    """
    path = Path(path)
    where = shown(path)
    try:
        data = read_input(path) if raw is None else raw
    except InputError as exc:
        yield exc
        return
    if not data:
        yield InputError(where, "empty file")
        return
    suffix = path.suffix.lower()
    try:
        text, encoding, note = decode_bytes(data, where, html=suffix in (".html", ".htm"))
        if not text.strip():
            raise InputError(where, "empty file (only whitespace)")
        if suffix == ".jsonl":
            items = _jsonl_items(text, path)
        elif suffix == ".json":
            items = _json_items(text, path)
        elif suffix in (".html", ".htm"):
            items = iter([_html_article(text, path)])
        elif suffix == ".md":
            items = iter([_md_article(text, path)])
        else:  # .txt, and any explicitly named file with another suffix
            items = iter([_article(where, path.stem, text, "txt", None, None, title_known=None)])
        for item in items:
            yield replace(item, encoding=encoding, encoding_note=note) if isinstance(item, Article) else item
    except InputError as exc:
        yield exc


def _article(
    where: str, id_: str, text: str, fmt: str, title: str | None, url: str | None, *, title_known: bool | None
) -> Article:
    """title_known: True/False when the format says whether there is a title; None to guess (txt)."""
    if title_known is None:
        segs, pars = segment(text, has_title=True)
    else:
        segs, pars = segment(text, has_title=title_known, force_title=title_known)
    if title is None and segs and segs[0].kind == "title":
        title = text[segs[0].start : segs[0].end]
    return Article(
        path=where,
        id=id_,
        text=text,
        source_format=fmt,
        title=title,
        url=url,
        segments=segs,
        paragraphs=pars,
    )


def _join(title: str | None, body: str) -> str:
    return f"{title}\n\n{body}" if title else body


def _one_line(s: str) -> str:
    return " ".join(s.split())


# --- markdown ------------------------------------------------------------------------------------
_MD_IMAGE_LINE = re.compile(r"\s*!\[[^\]]*\]\([^)]*\)\s*")
_MD_HEADING = re.compile(r"\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*")
_MD_RULE = re.compile(r"\s{0,3}(?:[-*_]\s*){3,}")
_MD_LINK_DEF = re.compile(r"\s{0,3}\[[^\]]+\]:\s*\S+.*")
_MD_INLINE = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # inline images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<(https?://[^>]+)>"), r"\1"),  # autolinks
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
)


def markdown_to_text(md: str) -> tuple[str, str | None]:
    """Plain text of a markdown article, line by line, and its title (a leading heading)."""
    lines = md.split("\n")
    title: str | None = None
    # YAML front matter: drop it, keep its title.
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                for fm in lines[1:i]:
                    m = re.match(r"title\s*:\s*(.+)", fm)
                    if m:
                        title = _one_line(m.group(1).strip().strip("\"'")) or None
                lines = lines[i + 1 :]
                break
    out: list[str] = []
    in_fence = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence  # code blocks are not article text
            continue
        if in_fence or _MD_IMAGE_LINE.fullmatch(line) or _MD_LINK_DEF.fullmatch(line):
            continue
        if _MD_RULE.fullmatch(line):
            out.append("")
            continue
        h = _MD_HEADING.fullmatch(line)
        if h:
            line = h.group(1)
        else:
            line = re.sub(r"^\s{0,3}(?:>\s?)+", "", line)  # blockquote markers
            line = re.sub(r"^\s*[-*+]\s+", "", line)  # bullet markers
        for rx, repl in _MD_INLINE:
            line = rx.sub(repl, line)
        out.append(line.rstrip())
    text = "\n".join(out).strip("\n")
    if title is None:
        first = next((ln for ln in lines if ln.strip()), "")
        h = _MD_HEADING.fullmatch(first)
        if h:
            title = text.split("\n", 1)[0].strip() or None
    elif not text.startswith(title):
        text = _join(title, text)
    return text, title


def _md_article(text: str, path: Path) -> Article:
    plain, title = markdown_to_text(text)
    if not plain.strip():
        raise InputError(str(path), "no text in markdown file")
    return _article(str(path), path.stem, plain, "md", title, None, title_known=title is not None)


# --- HTML ----------------------------------------------------------------------------------------
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
    "template",
    "button",
    "select",
)
_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "figcaption")
_HTML_TAG_RE = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*)(?:\s[^<>]*)?/?>")


def _text_of(el: Tag) -> str:
    # No separator: inline tags must not split words ("<b>war</b>." stays "war.").
    return _one_line(el.get_text())


def html_to_blocks(markup: str, *, use_title_tag: bool = True) -> tuple[str | None, list[str]]:
    """Main text of an HTML page or fragment: (title, text blocks), entity-decoded, whitespace collapsed."""
    soup = BeautifulSoup(markup, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with(" ")
    root: Tag = soup.find("article") or soup.find("main") or soup.body or soup
    # Find the title before dropping <header>: an article's <h1> often sits in one.
    h1 = root.find("h1")
    title = (_text_of(h1) if h1 else None) or None
    if not title and use_title_tag and soup.title:
        title = _one_line(soup.title.get_text()) or None
    for tag in root.find_all(_DROP_TAGS):
        if not tag.decomposed:
            tag.decompose()
    blocks: list[str] = []
    found_block = False
    title_skipped = False
    for el in root.find_all(_BLOCK_TAGS):
        if el.find(_BLOCK_TAGS):  # keep the innermost blocks so nothing is counted twice
            continue
        found_block = True
        s = _text_of(el)
        if el.name == "h1" and s == title and not title_skipped:
            title_skipped = True  # already the article's first paragraph
        elif s:
            blocks.append(s)
    if not found_block:  # text in bare <div>s: fall back to the lines of the page text
        blocks = [ln for ln in (_one_line(x) for x in root.get_text("\n").split("\n")) if ln]
        if blocks and blocks[0] == title:
            blocks = blocks[1:]
    return title, blocks


def _html_article(text: str, path: Path) -> Article:
    title, blocks = html_to_blocks(text)
    if not blocks:
        raise InputError(str(path), "no main text found in HTML")
    return _article(
        str(path), path.stem, _join(title, "\n\n".join(blocks)), "html", title, None, title_known=bool(title)
    )


# --- JSON feeds ----------------------------------------------------------------------------------
_TITLE_FIELDS = ("title", "headline")
_BODY_FIELDS = ("body", "text", "content", "article", "description")
_NO_BODY = "no text field (looked for " + ", ".join(_BODY_FIELDS) + ")"


def _json_error(exc: json.JSONDecodeError, line: int | None = None) -> str:
    return f"invalid JSON at line {line or exc.lineno} column {exc.colno} ({exc.msg})"


def _json_items(text: str, path: Path) -> Iterator[Article | InputError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), _json_error(exc)) from None
    if isinstance(data, dict):
        items = next((data[k] for k in ("items", "articles") if isinstance(data.get(k), list)), [data])
    elif isinstance(data, list):
        items = data
    else:
        raise InputError(str(path), "JSON holds no article (expected an object or a list of objects)")
    if not items:
        raise InputError(str(path), "no items in JSON file")
    many = len(items) > 1
    for n, item in enumerate(items, 1):
        where = f"{path}#{n}" if many else str(path)
        default_id = f"{path.stem}-{n}" if many else path.stem
        yield _feed_article(item, where, default_id, "json", what=f"item {n}")


def _jsonl_items(text: str, path: Path) -> Iterator[Article | InputError]:
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}#{n}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputError(where, _json_error(exc, n))
            continue
        yield _feed_article(item, where, f"{path.stem}-{n}", "jsonl", what=f"line {n}")


def _field(item: dict[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        v = item.get(name)
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            v = "\n\n".join(v)  # some feeds store paragraphs as a list
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str) and v.strip():
            return v
    return None


def _feed_article(item: Any, where: str, default_id: str, fmt: str, *, what: str) -> Article | InputError:
    if not isinstance(item, dict):
        return InputError(where, f"{what} is not a JSON object")
    body = _field(item, _BODY_FIELDS)
    if body is None:
        return InputError(where, f"{what}: {_NO_BODY}")
    title = _field(item, _TITLE_FIELDS)
    title = _one_line(title) if title else None
    body = _normalise_newlines(body)
    if _HTML_TAG_RE.search(body):
        html_title, blocks = html_to_blocks(body, use_title_tag=False)
        if html_title and not title:
            title = html_title
        elif html_title and html_title != title:
            blocks.insert(0, html_title)
        body = "\n\n".join(blocks)
    body = body.strip()
    if not body:
        return InputError(where, f"{what}: text field holds no text")
    return _article(
        where,
        _field(item, ("id", "guid")) or default_id,
        _join(title, body),
        fmt,
        title,
        _field(item, ("url", "link")),
        title_known=title is not None,
    )


def text_article(text: str, *, title: str | None = None, id: str = "text", path: str = "<text>") -> Article:
    """An article from a string (the Python API and tests): the text as a .txt file would give it, or with the
    given title as its first paragraph."""
    text = _normalise_newlines(text)
    if title is not None:
        return _article(path, id, _join(title, text), "txt", _one_line(title), None, title_known=True)
    return _article(path, id, text, "txt", None, None, title_known=None)


def read_lines(path: Path) -> list[Article]:
    """Each line of a file of MT output as its own small article (`line_article`); InputError when the file
    cannot be read."""
    data = read_input(path)
    if not data.strip():
        raise InputError(shown(path), "empty file: no lines to check")
    text, _encoding, _note = decode_bytes(data, shown(path))
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line_article(line, i, str(path)) for i, line in enumerate(lines)]


def line_article(text: str, index: int, source: str) -> Article:
    """A line of MT output as its own small article: one paragraph, its sentences, no title."""
    segments, paragraphs = segment(text, has_title=False)
    return Article(
        path=f"{source}#{index + 1}",
        id=str(index),
        text=text,
        source_format="lines",
        segments=segments,
        paragraphs=paragraphs,
    )


def feed_item_article(item: Any, where: str, default_id: str) -> Article | InputError:
    """One parsed JSON feed item (a JSONL line) as an Article, or an InputError saying why not.

    The public face of the feed parser for callers that read feeds themselves, line by line
    (`mtcheck gate` streams standard input); the fields are those of .json/.jsonl files.
    """
    _, sep, line = where.rpartition("#")
    return _feed_article(item, where, default_id, "jsonl", what=f"line {line}" if sep else "item")
