"""Word features for the learned detector: the LM's view of each word, its neighbours and its sentence.

A "word" is a span of text (Moses-like: punctuation on its own). Features are computed from the token scores
that overlap the word, so the same code serves articles (words found by a regex) and annotated MT (the
annotators' tokens).
"""

from __future__ import annotations

import math
import re

import numpy as np

from mtcheck.core.codes import Code
from mtcheck.core.text import FUNCTION_WORDS
from mtcheck.core.types import Hit, TokenScore
from mtcheck.lm.unigram import UnigramTable

# Words as the training data (Moses-tokenised MT) has them: an apostrophe between letters starts a token of its
# own ("country's" -> country 's, "don't" -> don 't), so the tagger reads the words it was trained on.
WORD_RE = re.compile(r"(?<=\w)['’][\w\-]+|[\w\-]+|[^\w\s]")
RULE_CODES = (  # the tagger's rule-hit feature columns, in this order (the shipped weights read them so)
    Code.DOUBLED_PUNCTUATION,
    Code.BROKEN_BOUNDARY,
    Code.STRAY_PRONOUN,
    Code.MIDSENTENCE_CAPITAL,
    Code.TRUNCATED_SENTENCE,
    Code.BRACKETED_INSERTION,
    Code.UNTRANSLATED,
    Code.CALQUE,
    Code.UNBALANCED_QUOTE,
)
_LOWER_FUNCTION = {w.lower() for w in FUNCTION_WORDS} | {"the", "a", "an"}

# per-word LM features, also taken from the neighbours
_CORE = ("s_max", "s_sum", "excess_max", "entropy_first", "logrank_first", "slor", "uni_sum")
FEATURE_NAMES: tuple[str, ...] = (
    *_CORE,
    "pieces",
    "is_punct",
    "is_capital",
    "is_digit",
    "is_function",
    "is_first",
    "is_last",
    "rel_pos",
    *(f"prev_{c}" for c in _CORE),
    *(f"next_{c}" for c in _CORE),
    *(f"prev2_{c}" for c in ("s_max", "excess_max")),
    *(f"next2_{c}" for c in ("s_max", "excess_max")),
    "after_excess_mean",  # how much the tokens right after the word surprise the model
    "sent_mean_s",
    "sent_max_excess",
    "sent_mean_excess",
    "sent_len",
    "sent_mean_slor",
    "sent_share_high",
    *(f"rule_{c}" for c in RULE_CODES),
)


def word_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in WORD_RE.finditer(text, start, len(text) if end is None else end)]


def word_features(
    text: str,
    spans: list[tuple[int, int]],
    tokens: list[TokenScore],
    unigram: UnigramTable | None,
    hits: list[Hit] | None = None,
) -> np.ndarray:
    """Feature matrix (len(spans) x len(FEATURE_NAMES)) for the words of one sentence or line."""
    n = len(spans)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES)), np.float32)
    core = np.zeros((n, len(_CORE)), np.float32)
    pieces = np.zeros(n, np.float32)
    after = np.zeros(n, np.float32)
    k = 0
    for i, (a, b) in enumerate(spans):
        while k < len(tokens) and tokens[k].end <= a:
            k += 1
        j, mine = k, []
        while j < len(tokens) and tokens[j].start < b:
            if tokens[j].end > a:
                mine.append(tokens[j])
            j += 1
        if not mine:
            continue
        s = [t.surprisal for t in mine]
        uni = sum(unigram.surprisal(t.token_id) for t in mine) if unigram else 8.0 * len(mine)
        core[i] = (
            max(s),
            sum(s),
            max(t.surprisal - t.entropy for t in mine),
            mine[0].entropy,
            math.log(mine[0].rank),
            sum(s) - uni,
            uni,
        )
        pieces[i] = len(mine)
        nxt = tokens[j : j + 3]
        after[i] = float(np.mean([t.surprisal - t.entropy for t in nxt])) if nxt else 0.0
    words = [text[a:b] for a, b in spans]
    shape = np.array(
        [
            (
                not w[0].isalnum(),
                w[0].isupper(),
                w[0].isdigit(),
                w.lower() in _LOWER_FUNCTION,
                i == 0,
                i == n - 1,
                i / max(1, n - 1),
            )
            for i, w in enumerate(words)
        ],
        np.float32,
    )

    def shifted(values: np.ndarray, by: int) -> np.ndarray:
        out = np.zeros_like(values)
        if by > 0:
            out[by:] = values[:-by]
        else:
            out[:by] = values[-by:]
        return out

    prev, nxt = shifted(core, 1), shifted(core, -1)
    prev2, nxt2 = shifted(core[:, [0, 2]], 2), shifted(core[:, [0, 2]], -2)
    sent = np.array(
        [
            core[:, 1].sum() / max(1.0, pieces.sum()),
            core[:, 2].max(),
            core[:, 2].mean(),
            math.log(n),
            core[:, 5].mean(),
            float(np.mean(core[:, 2] > 5.0)),
        ],
        np.float32,
    )
    rules = np.zeros((n, len(RULE_CODES)), np.float32)
    for hit in hits or []:
        if hit.code not in RULE_CODES:
            continue
        col = RULE_CODES.index(hit.code)
        for i, (a, b) in enumerate(spans):
            if a < hit.end and b > hit.start:
                rules[i, col] = 1.0
    return np.concatenate(
        [
            core,
            pieces[:, None],
            shape,
            prev,
            nxt,
            prev2,
            nxt2,
            after[:, None],
            np.tile(sent, (n, 1)),
            rules,
        ],
        axis=1,
    ).astype(np.float32)
