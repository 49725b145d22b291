"""A report in the shape of LanguageTool's `/v2/check` answer (`?format=languagetool`), for editors and tools that
already speak it: `software`, `warnings`, `language` and one `matches` entry per flag, with `offset`, `length`,
`message`, `shortMessage`, `replacements`, `rule` (`id`, `description`, `issueType`, `category`), `context` and
`sentence`.

Offsets point into the text the client sent, counted as LanguageTool counts them: in UTF-16 code units (Java's
string indices; the same as Python's character indices unless the text holds characters beyond U+FFFF, such as
emoji). The checker itself reads a normalised text (newlines made "\\n", a separate title joined in as the first
paragraph, a feed item's body stripped): each offset is carried back to the sent string, and
`mtcheck.offsets` says `"sent"`. A flag in a title sent apart from the text is listed under
`mtcheck.titleMatches`, its offsets into `mtcheck.title`. Where the analysed text cannot be carried back (a feed
item's HTML body, made plain text), offsets point into the analysed text, given whole as `mtcheck.text`, and
`mtcheck.offsets` says `"analysed"`.

A match spans the flag and every suggestion's edit (a suggestion may reach past the flag: "NATO He will." with the
edit " He will. They" -> " will"), so that each replacement is the whole new text of `offset`..`offset+length`;
`mtcheck.flagOffset` and `mtcheck.flagLength` give the flag's own span in the same units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtcheck import __version__
from mtcheck.core.codes import MODEL_EVIDENCE, Code
from mtcheck.core.report import Report
from mtcheck.core.types import Flag, Reason

API_VERSION = 1
CONTEXT_CHARS = 40  # around a match in `context.text`, as LanguageTool gives about
CATEGORY = {"id": "MTCHECK", "name": "Machine translation"}
# Fields a feed item's body is read from, in the reader's order (mtcheck/reading/formats.py). Only used to find
# the sent string again; the mapping checks that it matches, so a field missing here costs the mapping, no more.
BODY_FIELDS = ("body", "text", "content", "article", "description")

# code -> (LanguageTool issueType, shortMessage, rule description)
RULES: dict[str, tuple[str, str, str]] = {
    Code.DOUBLED_PUNCTUATION: ("typographical", "Doubled punctuation", "Punctuation doubled, as MT leaves it"),
    Code.BROKEN_BOUNDARY: ("grammar", "Broken sentence", "A sentence boundary in the middle of a sentence"),
    Code.MIDSENTENCE_CAPITAL: ("typographical", "Capital in mid-sentence", "A capital where no sentence starts"),
    Code.STRAY_PRONOUN: ("grammar", "Stray pronoun", "A pronoun that repeats the subject, typical of MT"),
    Code.TRUNCATED_SENTENCE: ("omission", "Unfinished sentence", "A sentence that stops before its clause ends"),
    Code.BRACKETED_INSERTION: ("addition", "Bracketed insertion", "Bracketed text the MT system inserted"),
    Code.UNBALANCED_QUOTE: ("typographical", "Unbalanced quote", "A quotation mark without its pair"),
    Code.UNTRANSLATED: ("untranslated", "Untranslated text", "Text left in the source language"),
    Code.CALQUE: ("mistranslation", "Calque", "A word-for-word rendering of a source-language idiom"),
    Code.REPEATED_PHRASE: ("duplication", "Repeated phrase", "The same words repeated, as MT loops do"),
    Code.EDIT_GAIN: ("uncategorized", "Unlikely wording", "A small edit makes the sentence far more probable"),
    Code.LM_SPIKE: ("uncategorized", "Surprising word", "A word the language model finds very surprising here"),
    Code.LEARNED: ("uncategorized", "Likely translation error", "The learned detector rates these words as bad"),
}
_GENERIC = ("uncategorized", "Possible translation error", "A passage mtcheck flags as garbled")


class Frame:
    """Carries offsets of the analysed text (`report.text`) within [lo, hi) back to the string the client sent, and
    counts them in UTF-16 code units. Unmapped (`sent` not found in the analysed text): offsets stay in the
    analysed text."""

    def __init__(self, analysed: str, sent: str | None):
        self.lo, self.hi = 0, len(analysed)  # the part of the analysed text that the sent string holds
        self.sent: str | None = None
        self._lead = 0  # characters the reader stripped from the front of the sent text
        self._index: list[int] = []
        if sent:
            normal, index = _normalised(sent)
            for lead, body in ((0, normal), (len(normal) - len(normal.lstrip()), normal.strip())):
                if body and analysed.endswith(body):
                    self.sent, self.lo, self._lead, self._index = sent, len(analysed) - len(body), lead, index
                    break
        self.text = self.sent if self.sent is not None else analysed  # what the offsets point into
        self._units = _utf16_prefix(self.text)

    @classmethod
    def title(cls, analysed: str, end: int) -> Frame:
        """The title at the head of the analysed text, up to `end`: offsets into that title."""
        return cls(analysed[:end], None)

    @property
    def mapped(self) -> bool:
        return self.sent is not None

    def position(self, r: int) -> int:
        """A character offset of the analysed text as a character offset of `self.text`."""
        r = min(max(r, self.lo), self.hi)
        return self._index[r - self.lo + self._lead] if self.sent is not None else r

    def units(self, i: int) -> int:
        """A character offset of `self.text` in UTF-16 code units."""
        return self._units[i] if self._units is not None else i


def languagetool_json(report: Report, sent: str | None = None, *, decision: Mapping[str, Any] | None = None) -> dict:
    """`report` as LanguageTool's answer; `sent`: the text the client sent (the offsets point into it when it can
    be found again in the analysed text). `decision`: the gate's, added under `mtcheck.decision`."""
    analysed = report.text
    frame = Frame(analysed, sent)
    title_frame = None
    if frame.mapped and frame.lo > 0:
        title_frame = Frame.title(analysed, len(analysed[: frame.lo].removesuffix("\n\n")))
    matches, title_matches = [], []
    for flag in report.flags:
        if title_frame is not None and flag.end <= frame.lo:
            title_matches.append(_match(report, flag, title_frame))
        else:
            matches.append(_match(report, flag, frame))
    extra: dict[str, Any] = {
        "id": report.article.id,
        "offsets": "sent" if frame.mapped else "analysed",
        "offsetUnits": "utf-16",
        "fluency": report.scores.fluency,
        "flags": report.scores.flags,
        "signature": report.settings.get("signature"),
    }
    if not frame.mapped:
        extra["text"] = analysed
    if title_frame is not None:
        extra["title"] = title_frame.text
        extra["titleMatches"] = title_matches
    if decision is not None:
        extra["decision"] = dict(decision)
    return {
        "software": {
            "name": "mtcheck",
            "version": __version__,
            "buildDate": "",
            "apiVersion": API_VERSION,
            "premium": False,
            "status": "",
        },
        "warnings": {"incompleteResults": False},
        "language": {
            "name": "English",
            "code": "en",
            "detectedLanguage": {"name": "English", "code": "en", "confidence": 1.0},
        },
        "matches": matches,
        "mtcheck": extra,
    }


def item_body(item: Any) -> str | None:
    """The string a feed item (or a plain-text item) sent as its text, when there is one."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        for name in BODY_FIELDS:
            value = item.get(name)
            if isinstance(value, str) and value.strip():
                return value
    return None


def _match(report: Report, flag: Flag, frame: Frame) -> dict:
    analysed = report.text
    start, end = max(flag.start, frame.lo), min(flag.end, frame.hi)
    edits = [s for s in flag.suggestions if frame.lo <= s.start <= s.end <= frame.hi]
    u0 = min([start, *(s.start for s in edits)])
    u1 = max([end, *(s.end for s in edits)])
    values: list[str] = []
    for s in edits:
        value = analysed[u0 : s.start] + s.replacement + analysed[s.end : u1]
        if value != analysed[u0:u1] and value not in values:
            values.append(value)
    a, b = frame.position(u0), frame.position(u1)
    fa, fb = frame.position(start), frame.position(end)
    reason = _primary(flag.reasons)
    issue, short, description = RULES.get(reason.code, _GENERIC) if reason else _GENERIC
    code = str(reason.code) if reason else "flag"
    return {
        "message": reason.message if reason else f"A {flag.severity} flag",
        "shortMessage": short,
        "offset": frame.units(a),
        "length": frame.units(b) - frame.units(a),
        "replacements": [{"value": v} for v in values],
        "context": _context(frame, a, b),
        "sentence": _sentence(report, flag.start),
        "type": {"typeName": "Other"},
        "rule": {
            "id": "MTCHECK_" + code.upper().replace("-", "_"),
            "description": description,
            "issueType": issue,
            "category": dict(CATEGORY),
        },
        "mtcheck": {
            "flag": flag.id,
            "severity": str(flag.severity),
            "confidence": round(flag.confidence, 3),
            "reasons": [str(r.code) for r in flag.reasons],
            "flagOffset": frame.units(fa),
            "flagLength": frame.units(fb) - frame.units(fa),
        },
    }


def _primary(reasons: tuple[Reason, ...]) -> Reason | None:
    named = [r for r in reasons if r.code not in MODEL_EVIDENCE]  # named after its first fault, if any
    return (named or list(reasons) or [None])[0]


def _context(frame: Frame, a: int, b: int) -> dict:
    text = frame.text
    c0, c1 = max(0, a - CONTEXT_CHARS), min(len(text), b + CONTEXT_CHARS)
    before = ("..." if c0 > 0 else "") + text[c0:a]
    middle = text[a:b]
    after = text[b:c1] + ("..." if c1 < len(text) else "")
    shown = (before + middle + after).replace("\r", " ").replace("\n", " ")
    return {"text": shown, "offset": _len16(before), "length": _len16(middle)}


def _sentence(report: Report, start: int) -> str:
    for seg in report.segments:
        if seg.start <= start < seg.end:
            return report.text[seg.start : seg.end]
    return ""


def _normalised(sent: str) -> tuple[str, list[int]]:
    """The sent text with its newlines made "\\n" as the reader makes them, and for each of its characters (and its
    end) the offset in the sent text."""
    if "\r" not in sent:
        return sent, list(range(len(sent) + 1))
    chars: list[str] = []
    index: list[int] = []
    i = 0
    while i < len(sent):
        index.append(i)
        if sent[i] == "\r":
            chars.append("\n")
            i += 2 if sent.startswith("\r\n", i) else 1
        else:
            chars.append(sent[i])
            i += 1
    index.append(len(sent))
    return "".join(chars), index


def _utf16_prefix(text: str) -> list[int] | None:
    """UTF-16 code units before each character offset; None when they equal the offsets (no astral characters)."""
    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return None
    out = [0]
    for c in text:
        out.append(out[-1] + (2 if ord(c) >= 0x10000 else 1))
    return out


def _len16(text: str) -> int:
    return len(text) + sum(1 for c in text if ord(c) >= 0x10000)
