"""The article as every later stage sees it: text plus segments with character offsets into that text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# Segment kinds. Only "title" and "sentence" are scored; the others are kept out of scoring but
# reported, so that a person sees why a line got no score.
SCORED_KINDS = ("title", "sentence")
SEGMENT_KINDS = ("title", "sentence", "boilerplate", "byline")


@dataclass(frozen=True)
class Segment:
    start: int  # character offset into Article.text
    end: int  # exclusive
    kind: str  # one of SEGMENT_KINDS
    paragraph: int  # index of the paragraph this segment belongs to

    @property
    def scored(self) -> bool:
        return self.kind in SCORED_KINDS


@dataclass(frozen=True)
class Article:
    path: str  # the file it came from; feed items: "feed.jsonl#<line number>"
    id: str  # item id, or the file stem
    text: str  # the analysed text; every offset in mtcheck points into this string
    source_format: str  # txt, md, html, json, jsonl, lines
    encoding: str = "utf-8"
    encoding_note: str | None = None  # set when a legacy-encoding fallback was used
    title: str | None = None
    url: str | None = None
    segments: list[Segment] = field(default_factory=list)
    paragraphs: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of each paragraph

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def segment_text(self, segment: Segment) -> str:
        return self.text[segment.start : segment.end]
