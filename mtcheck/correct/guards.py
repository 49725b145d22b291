"""Meaning guards: a proposed reading must not change what the sentence says.

Numbers, negations, names and quotations must survive unless the flagged span itself is the error, and the
sentence embedding (all-MiniLM-L6-v2) of the corrected sentence must stay close to the original's. A number or
a negation inside the span may change only by a rule's fix (a calque's idiom: "not just the beginning for" ->
"a non-starter for"): that a span reads as garbled does not tell a small edit or the rewrite that its "not" is
the error, and on the seed an edit "delete “not”" turned a refusal into its opposite.

Content words must survive too (the `content` guard): mtcheck reads the English alone, so it cannot know which
noun, verb or adjective the source meant, and the language model's favourite swaps ("privileges" -> "power",
"difficulties" -> "estate") changed the meaning in every case measured on MLQE-PE dev. Small edits may add,
drop or swap function words, punctuation and case, and put one light verb for another ("have place" -> "take
place": the noun that carries the meaning stays); content changes come only from the phrase table of known calques
and the bracketed-gloss rule (source `rule`).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass

from mtcheck.core.text import FUNCTION_WORDS, LIGHT_VERB_FORMS, WORD, keeps_capital
from mtcheck.lm.model import TOKENIZING

NUMBER = re.compile(r"\d[\d,.]*\d|\d")
NEGATION = re.compile(
    r"\b(?:not|no|never|none|nor|neither|nobody|nothing|nowhere|without|cannot)\b|n[’']t\b", re.IGNORECASE
)
QUOTE = re.compile(r"[“”\"‘’]")
MIN_SIMILARITY = 0.80
MIN_KEPT = 0.9  # share of the words outside the flagged span a correction must keep
# Closed-class words a correction may add, drop or swap (with the rules' function words, lower-cased).
CLOSED_CLASS = {w.lower() for w in FUNCTION_WORDS} | {
    "the", "a", "an", "some", "any", "each", "every", "all", "both", "either", "such", "so", "too", "very",
    "there", "here", "then", "thus", "that", "what", "when", "where", "while", "how", "why", "whether",
    "do", "does", "did", "being", "having", "because", "since", "until", "although", "though", "yet",
    "over", "under", "up", "down", "out", "off", "per", "via", "among", "within", "towards", "toward",
    "more", "most", "less", "least", "much", "many", "few", "one", "ones", "own", "same", "other", "another",
    "me", "theirs", "itself", "himself", "herself", "themselves", "ourselves", "yourself", "myself",
    "s", "'s", "’s",
}  # fmt: skip


@dataclass
class Verdict:
    ok: bool
    guard: str = ""
    why: str = ""


def _names(sentence: str, first: int = 1) -> Counter:
    """Capitalised words that are not sentence-initial (from word `first` on) and not function words: names,
    roughly. A flagged span is a piece of a sentence: its first word counts too (first=0)."""
    words = re.findall(r"[\w’'\-]+", sentence)
    out: Counter = Counter()
    for i, w in enumerate(words):
        if i >= first and w[0].isupper() and keeps_capital(w):
            out[w] += 1
    return out


def _kept_outside(original: str, corrected: str, span: tuple[int, int]) -> float:
    """Share of the original's words outside the flagged span that the corrected sentence keeps, in order."""
    outside = WORD.findall(original[: span[0]]) + WORD.findall(original[span[1] :])
    if not outside:
        return 1.0
    matcher = difflib.SequenceMatcher(a=outside, b=WORD.findall(corrected), autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(outside)


def _content(sentence: str) -> set[str]:
    return {w.lower() for w in WORD.findall(sentence) if w.lower() not in CLOSED_CLASS and not w.isdigit()}


def _swaps_light_verb(original: str, corrected: str, before: set[str], after: set[str]) -> bool:
    """The content words differ only by one light verb put for another ("having place" -> "taking place"): the
    noun that carries the meaning stays; the verb is the idiom's (core/text LIGHT_VERBS)."""
    changed = (before - after) | (after - before)
    if not changed <= LIGHT_VERB_FORMS or len(after - before) > 1:
        return False

    def light(sentence: str) -> int:
        return sum(w.lower() in LIGHT_VERB_FORMS for w in WORD.findall(sentence))

    return light(original) == light(corrected)  # a swap, not a verb added or dropped


def check(
    original: str,
    corrected: str,
    span_text: str,
    similarity: float | None,
    span: tuple[int, int] | None = None,
    source: str = "edit",
) -> Verdict:
    """Judge one corrected sentence against the original; `span_text` is the flagged (erroneous) text,
    whose own numbers, negations, names and quotes may change; `span` is its place in `original`; `source`
    is where the candidate came from (edit, rule or rewrite)."""
    if span is not None:
        kept = _kept_outside(original, corrected, span)
        if kept < MIN_KEPT:
            return Verdict(False, "context", f"rewrites words outside the flagged span (keeps {kept:.0%} of them)")
    own = span_text if source == "rule" else ""  # the numbers and negations that may change (see the docstring)
    numbers_before = Counter(NUMBER.findall(original)) - Counter(NUMBER.findall(own))
    numbers_after = Counter(NUMBER.findall(corrected))
    lost = numbers_before - numbers_after
    if lost or Counter(NUMBER.findall(corrected)) - Counter(NUMBER.findall(original)):
        changed = ", ".join(sorted((lost or (numbers_after - Counter(NUMBER.findall(original)))).keys()))
        return Verdict(False, "number", f"changes a number ({changed})")
    neg_before = len(NEGATION.findall(original))
    neg_after = len(NEGATION.findall(corrected))
    neg_span = len(NEGATION.findall(own))
    if neg_after != neg_before and not (neg_span and abs(neg_after - neg_before) <= neg_span):
        return Verdict(False, "negation", f"changes the negation ({neg_before} -> {neg_after})")
    lost_names = (_names(original) - _names(span_text, first=0)) - _names(corrected)
    if lost_names:
        return Verdict(False, "name", f"drops or changes a name ({', '.join(sorted(lost_names))})")
    if len(QUOTE.findall(original)) - len(QUOTE.findall(span_text)) > len(QUOTE.findall(corrected)):
        return Verdict(False, "quote", "drops a quotation mark")
    if source != "rule":
        before, after = _content(original), _content(corrected)
        if before != after and not _swaps_light_verb(original, corrected, before, after):
            changed = sorted(before - after) + [f"+{w}" for w in sorted(after - before)]
            return Verdict(False, "content", f"adds, drops or swaps a content word ({', '.join(changed[:4])})")
    if similarity is not None and similarity < MIN_SIMILARITY:
        return Verdict(
            False, "meaning", f"sentence meaning drifts (embedding similarity {similarity:.2f} < {MIN_SIMILARITY})"
        )
    return Verdict(True)


class Embedder:
    """all-MiniLM-L6-v2 mean-pooled sentence embeddings (the `minilm-l6` model of the manifest)."""

    def __init__(self, device: str = "cpu"):
        from transformers import AutoModel, AutoTokenizer

        from mtcheck.lm.store import resolve

        resolved = resolve("minilm-l6")
        self.name, self.sha256 = resolved.name, resolved.sha256
        self.tokenizer = AutoTokenizer.from_pretrained(resolved.path)
        self.model = AutoModel.from_pretrained(resolved.path).to(device).eval()
        self.device = device

    def similarities(self, original: str, candidates: list[str]) -> list[float]:
        import torch

        texts = [original, *candidates]
        with TOKENIZING:
            batch = self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        emb = (hidden * mask).sum(1) / mask.sum(1)
        emb = torch.nn.functional.normalize(emb, dim=-1)
        return (emb[1:] @ emb[0]).cpu().tolist()
