"""Split an article's text into paragraphs and segments (title, sentences, boilerplate, bylines).

Every offset is a character offset into the text passed in; segments never include surrounding
whitespace, so ``text[seg.start:seg.end]`` is always the trimmed segment text.

The sentence splitter is rule-based on purpose: machine-translated news contains broken boundaries
("in Brussels on Wednesday. between Russia and ...") that a later stage must see as *two* sentences,
while trained splitters tend to repair them silently.
"""

from __future__ import annotations

import re

from mtcheck.core.article import Segment

__all__ = ["segment", "split_sentences", "BOILERPLATE_PATTERNS", "BYLINE_PATTERNS"]

# --- boilerplate -------------------------------------------------------------------------------
# Site chrome and comment prompts. Each pattern must match a whole paragraph or a whole sentence
# (re.fullmatch, case-insensitive), never a substring of a real sentence.
BOILERPLATE_PATTERNS: tuple[str, ...] = (
    r"leave a (?:reply|comment|response)\s*[:.]?",
    r"cancel reply",
    r"your email address will not be published\.?",
    r"required fields are marked\s*\*?\.?",
    r"(?:name|e-?mail|website|comment)\s*\*?\s*:?",  # comment-form field labels
    r"save my name, email, and website in this browser for the next time i comment\.?",
    r"this site uses akismet to reduce spam\.?(?:\s*learn how your comment data is processed\.?)?",
    r"learn how your comment data is processed\.?",
    r"share this(?: article| story| post)?\s*:?",
    r"click to (?:share|email|print)\b.{0,80}",
    r"(?:subscribe|sign up)(?: now| today)?(?: (?:to|for) (?:our|the) [\w ]{0,30}newsletters?)?\s*[.!:]?",
    r"(?:.{0,80}[.|,\-–—]\s*)?all rights reserved\.?",
    r"copyright\s*(?:©|\(c\))?\s*(?:\d{4}|©).{0,100}",
    r"(?:©|\(c\))\s*\d{4}.{0,100}",
    r"related(?: articles| stories| posts| news| content)?\s*:?",
    r"advertisement",
    r"read (?:more|also|next)\b\s*(?:[:»›>]\s*.{0,150})?",
    r"(?:previous|next) (?:article|post|story)\s*:?.{0,150}",
    r"(?:tags|filed under|posted in)\s*:.{0,150}",
    r"[^\w\s]+(?:\s+[^\w\s]+)*",  # lone punctuation lines: ".", "…", "*", "-", "|", "* * *"
)

# --- bylines and credits -------------------------------------------------------------------------
_CAP = r"[A-Z][\w'’.\-]*"  # a capitalised word ("Sang-won", "O’Brien", "J.")
_NAME = rf"{_CAP}(?:\s+(?:{_CAP}|de|van|von|der|da|al|bin))*"
_AGENCY = (
    r"(?:AP|AFP|Reuters|Getty Images|EPA(?:-EFE)?|Yonhap(?: News)?(?: Agency)?|Associated Press|"
    r"Bloomberg|Xinhua|TASS|Sputnik|UPI|Shutterstock|NurPhoto|SOPA Images|LightRocket|Pool|"
    r"Anadolu(?: Agency)?|PA(?: Media| Images| Wire)?|Alamy|Newsis|News1|AAP|dpa|ANP|Kyodo|"
    r"Xinhua News Agency)"
)
_CREDIT_WORD = r"(?:Photos?|Photograph|Image|Picture|Graphic|Illustration|Video|Source|Courtesy)"
# Each pattern must fullmatch a paragraph, or the first/last sentence of a paragraph.
BYLINE_PATTERNS: tuple[str, ...] = (
    # Korean-press dateline credits: "Washington = Jeong Sang-won correspondent", "Geneva = AP"
    rf"{_CAP}(?:\s+{_CAP}){{0,3}}\s*=\s*{_CAP}(?:\s+[\w'’.\-]+){{0,5}}",
    # "By Jane Doe", "By Jane Doe and John Roe, Reuters"
    rf"By\s+{_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*\.?",
    # "Photo: ...", "Photo by ...", "Source: Reuters", "(Photo = Yonhap News)"
    rf"{_CREDIT_WORD}\s*(?::|=|by\b|credit\s*:?)\s*.{{1,120}}",
    rf"\(\s*{_CREDIT_WORD}\s*(?::|=|by\b)\s*[^()]{{1,80}}\)\.?",
    # "Reporter Kim Eun-jung", "Correspondent Jeong Sang-won (jsw@example.com)"
    rf"(?:Staff )?(?:Reporter|Correspondent)\s+{_NAME}(?:\s*\(?[\w.+\-]+@[\w.\-]+\)?)?",
    # "Reuters", "AFP/Getty Images", "John Smith/AFP via Getty Images", "(AP)"
    rf"\(?(?:{_NAME}\s*/\s*)?{_AGENCY}(?:\s*(?:/|via)\s*{_AGENCY})*\)?\.?",
)

_BOILERPLATE_RE = [re.compile(p, re.IGNORECASE | re.DOTALL) for p in BOILERPLATE_PATTERNS]
_BYLINE_RE = [re.compile(p) for p in BYLINE_PATTERNS]
# A photo credit glued to the end of a caption without a sentence boundary: "... on the 10th (Photo = Yonhap)"
_TRAILING_CREDIT_RE = re.compile(
    rf"\s(\(\s*(?:{_CREDIT_WORD}\s*(?::|=|by\b)\s*[^()]{{1,80}}|{_AGENCY}(?:\s*/\s*{_AGENCY})*)\))$"
)


def is_boilerplate(s: str) -> bool:
    return any(r.fullmatch(s) for r in _BOILERPLATE_RE)


def is_byline(s: str) -> bool:
    return any(r.fullmatch(s) for r in _BYLINE_RE)


# --- sentence splitting --------------------------------------------------------------------------
# Abbreviations after which a full stop never ends a sentence (matched case-sensitively, so that
# "no." and "art." still end sentences).
_NEVER_FINAL = frozenset(
    "Mr Mrs Ms Mx Dr Prof St Gen Sen Rep Gov Lt Col Capt Sgt Cpl Maj Adm Rev Hon Pres Supt Det Insp "
    "Atty Mt Ft Messrs vs v cf approx viz ca e.g i.e E.g I.e Vol Fig Figs p pp".split()
)
# Abbreviations that often end a sentence too: a boundary only when a typical sentence opener follows.
_MAYBE_FINAL = frozenset(
    "Inc Ltd Co Corp Jr Sr Bros etc al Ave Rd Blvd Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec No".split()
)
_ACRONYM_RE = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # U.S, U.K, a.m, D.C (final dot not included)
_SENTENCE_OPENERS = frozenset(
    "The This That These Those It Its He She They We You His Her Their Our There But And Yet So However "
    "Meanwhile In On At As If When While After Before Since What Why How Who Some Many Most Both Also "
    "Still Now Then A An I".split()
)
_TERM_RE = re.compile(r"[.!?…]+")
_CLOSERS = "\"”’')]»"
_OPENERS = "\"“‘'([«"
_PUNCT_TOKEN_RE = re.compile(rf"[.!?…{re.escape(_CLOSERS)}]+")


def _is_boundary(par: str, t_start: int, t_end: int, next_start: int) -> bool:
    """Decide whether the terminator run par[t_start:t_end] (closers already skipped) ends a sentence."""
    term = par[t_start:t_end]
    nxt_tok_end = next_start
    while nxt_tok_end < len(par) and not par[nxt_tok_end].isspace():
        nxt_tok_end += 1
    nxt = par[next_start:nxt_tok_end].lstrip(_OPENERS)
    first = nxt[:1]
    if "…" in term or term.count(".") >= 3:  # ellipsis: a boundary only before a capital
        return first.isupper()
    if "." not in term:  # ? or !: a quoted question followed by "he asked" is not a boundary
        return not first.islower()
    # Full stop: look at the word right before it.
    w_start = t_start
    while w_start > 0 and not par[w_start - 1].isspace():
        w_start -= 1
    word = par[w_start:t_start].lstrip(_OPENERS)
    if not word:  # a lone "." after a space still ends the sentence
        return True
    next_word = nxt.rstrip(_CLOSERS + ".,;:!?…")
    if word in _NEVER_FINAL:
        return False
    if word.isdigit() and w_start == len(par) - len(par.lstrip()):  # list numbering: "1. The point"
        return False
    if word == "No" and first.isdigit():
        return False
    if len(word) == 1 and word.isupper():  # an initial: "J. K. Rowling"
        if re.match(r"[A-Z]\.", nxt):
            return False
        return next_word in _SENTENCE_OPENERS - {"A", "I"}
    if word in _MAYBE_FINAL or _ACRONYM_RE.fullmatch(word):
        # "the U.S. Deputy Secretary" goes on; "left the U.S. The next day" ends.
        return next_word in _SENTENCE_OPENERS
    # Anything else ends a sentence, even before a lowercase word: a garbled MT boundary is still one.
    return True


def split_sentences(par: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) inside one paragraph string, trimmed, never punctuation-only."""
    spans: list[tuple[int, int]] = []
    start = 0
    pos = 0
    n = len(par)
    while True:
        m = _TERM_RE.search(par, pos)
        if not m:
            break
        end = m.end()
        while end < n and par[end] in _CLOSERS:
            end += 1
        pos = end
        if end < n and not par[end].isspace():
            continue  # "U.S.-Russia", "3.5", "happen…we": not a boundary
        # Absorb stray punctuation tokens after the stop ("sovereign right. .") into this sentence.
        while True:
            j = end
            while j < n and par[j].isspace():
                j += 1
            k = j
            while k < n and not par[k].isspace():
                k += 1
            if j < n and _PUNCT_TOKEN_RE.fullmatch(par[j:k]):
                end = k
            else:
                break
        pos = end
        nxt = end
        while nxt < n and par[nxt].isspace():
            nxt += 1
        if nxt >= n:
            break
        if _is_boundary(par, m.start(), m.end(), nxt):
            spans.append((start, end))
            start = nxt
    spans.append((start, n))

    # Trim, and fold punctuation-only pieces into a neighbour.
    out: list[tuple[int, int]] = []
    for s, e in spans:
        s, e = _trim(par, s, e)
        if s >= e:
            continue
        if not any(c.isalnum() for c in par[s:e]) and out:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    if len(out) > 1 and not any(c.isalnum() for c in par[out[0][0] : out[0][1]]):
        out[1] = (out[0][0], out[1][1])
        del out[0]
    return [piece for s, e in out for piece in cap_length(par, s, e)]


# A "sentence" longer than this is cut into pieces (at a comma, semicolon or colon where there is one, else at a
# space): every later stage costs at least its length times the candidates in it, and a run-on of thousands of
# words (a page without full stops, `'a ' * 1024`) would otherwise take minutes. News sentences are far shorter
# (the longest of the 60 mqm23-zhen dev articles: about 90 words).
MAX_SENTENCE_WORDS = 150
MAX_SENTENCE_CHARS = 1000


def cap_length(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """[s, e) as pieces of at most MAX_SENTENCE_WORDS words and MAX_SENTENCE_CHARS characters, each trimmed."""
    pieces: list[tuple[int, int]] = []
    while True:
        s, e = _trim(text, s, e)
        if s >= e:
            return pieces
        limit = min(e, s + MAX_SENTENCE_CHARS)
        words = [m.start() for m in re.finditer(r"\s+", text[s:limit])]
        if len(words) >= MAX_SENTENCE_WORDS:
            limit = s + words[MAX_SENTENCE_WORDS - 1]
        if limit >= e:
            pieces.append((s, e))
            return pieces
        window = text[s:limit]
        cut = max(window.rfind(", "), window.rfind("; "), window.rfind(": "))
        if cut > len(window) // 2:
            cut += 1  # after the punctuation
        else:
            space = window.rfind(" ")
            cut = space if space > 0 else len(window)
        pieces.append(_trim(text, s, s + cut))
        s = s + cut


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


# --- paragraphs and titles -----------------------------------------------------------------------
_MD_HEADING_RE = re.compile(r"(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_MAX_TITLE_WORDS = 25


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Every non-empty line is a paragraph (news .txt files hold one paragraph per line)."""
    spans = []
    for m in re.finditer(r"[^\n]+", text):
        s, e = _trim(text, m.start(), m.end())
        if s < e:
            spans.append((s, e))
    return spans


def looks_like_headline(line: str) -> bool:
    """Short, one line, and not ending with a full stop (news headlines drop the final stop)."""
    words = line.split()
    if not words or len(words) > _MAX_TITLE_WORDS or not any(c.isalpha() for c in line):
        return False
    if is_boilerplate(line) or is_byline(line):
        return False
    core = line.rstrip(_CLOSERS)
    if core.endswith(".") and not core.endswith("..."):
        last = core.split()[-1].lstrip(_OPENERS)[:-1]
        return last in _NEVER_FINAL or last in _MAYBE_FINAL or bool(_ACRONYM_RE.fullmatch(last))
    return True


def segment(
    text: str, *, has_title: bool = True, force_title: bool = False
) -> tuple[list[Segment], list[tuple[int, int]]]:
    """Segments and paragraph spans of ``text``; offsets are into ``text``.

    has_title: the first paragraph may be a title; it becomes one when it looks like a headline
    (or is a markdown "# Heading", whose markers stay outside the segment).
    force_title: the caller knows the first paragraph is the title (HTML <h1>, a feed's "title").
    """
    pars = paragraphs(text)
    segs: list[Segment] = []
    for pi, (ps, pe) in enumerate(pars):
        par = text[ps:pe]
        if pi == 0 and (has_title or force_title):
            h = _MD_HEADING_RE.match(par)
            if h:
                ts, te = _trim(text, ps + h.start(2), ps + h.end(2))
                if ts < te:
                    segs.append(Segment(ts, te, "title", pi))
                    continue
            if force_title or looks_like_headline(par):
                segs.append(Segment(ps, pe, "title", pi))
                continue
        if is_boilerplate(par):
            segs.append(Segment(ps, pe, "boilerplate", pi))
            continue
        if is_byline(par):
            segs.append(Segment(ps, pe, "byline", pi))
            continue
        body_end = pe
        credit: Segment | None = None
        tm = _TRAILING_CREDIT_RE.search(par)
        if tm and tm.start(1) > 0:
            credit = Segment(ps + tm.start(1), pe, "byline", pi)
            body_end = _trim(text, ps, ps + tm.start(1))[1]
        sents = split_sentences(text[ps:body_end])
        for i, (s, e) in enumerate(sents):
            st = par[s:e]
            if is_boilerplate(st):
                kind = "boilerplate"
            elif len(sents) > 1 and i in (0, len(sents) - 1) and is_byline(st):
                kind = "byline"
            else:
                kind = "sentence"
            segs.append(Segment(ps + s, ps + e, kind, pi))
        if credit:
            segs.append(credit)
    return segs, pars
