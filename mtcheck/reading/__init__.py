"""Reading: files and feed items -> `Article` (formats, encodings), and segmenting into title, paragraphs,
sentences, boilerplate and bylines with character offsets."""

from mtcheck.reading.formats import (
    SUPPORTED_SUFFIXES,
    decode_bytes,
    feed_item_article,
    iter_inputs,
    line_article,
    read_articles,
    read_file,
    read_lines,
    text_article,
)
from mtcheck.reading.segmenting import segment

__all__ = [
    "SUPPORTED_SUFFIXES",
    "decode_bytes",
    "feed_item_article",
    "iter_inputs",
    "line_article",
    "read_articles",
    "read_file",
    "read_lines",
    "segment",
    "text_article",
]
