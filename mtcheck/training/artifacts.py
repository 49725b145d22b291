"""Plant MT-like artifacts in human English, seeded: training targets for the article head and the test bed of
the restoration benchmark. Each kind imitates a failure seen in machine-translated news (the kinds the seeds
show, written from their description, never from the seeds' sentences):

- `pronoun_repeat`: a pronoun repeated after the name it stands for ("NATO He will");
- `cut_sentence`: a full stop cutting a sentence before a lower-case word ("the region. between them");
- `doubled_stop`: a sentence's full stop doubled ("right. .");
- `bracketed_gloss`: a translator's gloss left in brackets ("intention of [to invade] invading");
- `function_word`: an article dropped or a preposition swapped ("in the city" -> "on city");
- `agreement`: a verb's number or tense broken ("they were" -> "they was");
- `decoding_loop`: a phrase repeated back to back, as an MT decoder caught in a loop;
- `midsentence_capital`: a function word capitalised in mid-sentence ("agreed By the two sides");
- `clause_split`: a sentence split before a clause ("the plan, which" -> "the plan. Which");
- `idiom`: an English idiom replaced by the word-for-word rendering of a foreign one ("took part in" -> "took
  participation in"), from the cited list in `idioms.py`; planted by `plant_idioms`, after `plant`, in the
  sentences it left alone, so that adding them changes none of the other artifacts.

`plant(text, rng)` returns the corrupted text and, per artifact, its span in the corrupted text, its kind and
the original text of the sentence it is in (what a correction should restore).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

from mtcheck.training.idioms import calque_in

KINDS = (
    "pronoun_repeat",
    "cut_sentence",
    "doubled_stop",
    "bracketed_gloss",
    "function_word",
    "agreement",
    "decoding_loop",
    "midsentence_capital",
    "clause_split",
)
ALL_KINDS = (*KINDS, "idiom")  # `idiom` is planted by `plant_idioms`
# artifacts a rater would call major (the sentence no longer reads as one); the rest are minor
MAJOR_KINDS = {"pronoun_repeat", "cut_sentence", "bracketed_gloss", "decoding_loop", "clause_split"}

_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*|\d[\d,.]*|[^\sA-Za-z\d]")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[A-Z\"“‘(])|\n+")
_AUX = {"will", "would", "can", "could", "has", "had", "is", "was", "said", "says", "should", "must", "may"}
_PREPOSITIONS = {"in": "on", "on": "in", "at": "in", "of": "for", "for": "of", "to": "for", "with": "by"}
_AGREEMENT = {"is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "have": "has", "does": "do"}
_CAPITALISABLE = {"by", "in", "on", "with", "for", "from", "and", "the", "to", "of", "it", "they", "he"}
_CLAUSE_WORDS = {"which", "who", "while", "although", "but", "because", "where", "when"}
_PRONOUNS = ("He", "It", "They", "She")


@dataclass(frozen=True)
class Planted:
    start: int  # the artifact's span in the corrupted text
    end: int
    kind: str
    sentence_start: int  # the corrupted sentence's span in the corrupted text
    sentence_end: int
    original: str  # the sentence before corruption

    @property
    def major(self) -> bool:
        return self.kind in MAJOR_KINDS


def _words(s: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(s)]


def corrupt(sentence: str, kind: str, rng: random.Random) -> tuple[str, int, int] | None:
    """The sentence with one artifact of `kind`, and the artifact's span in it; None where the kind does not
    apply to this sentence."""
    w = _words(sentence)
    n = len(w)
    if n < 6:
        return None
    inner = range(2, n - 2)
    if kind == "pronoun_repeat":
        at = [i for i in inner if w[i][2][:1].isupper() and w[i + 1][2].lower() in _AUX]
        if not at:
            return None
        i = rng.choice(at)
        pronoun = rng.choice(_PRONOUNS)
        cut = w[i][1]
        return sentence[:cut] + " " + pronoun + sentence[cut:], cut + 1, cut + 1 + len(pronoun)
    if kind == "cut_sentence":
        at = [i for i in range(3, n - 3) if w[i][2][:1].islower() and w[i - 1][2][:1].isalpha()]
        if not at:
            return None
        i = rng.choice(at)
        cut = w[i - 1][1]
        return sentence[:cut] + "." + sentence[cut:], cut, w[i][1] + 1
    if kind == "doubled_stop":
        if not sentence.rstrip().endswith("."):
            return None
        end = len(sentence.rstrip())
        return sentence[:end] + " ." + sentence[end:], end - 1, end + 2
    if kind == "bracketed_gloss":
        at = [i for i in inner if w[i][2].isalpha() and w[i][2].islower() and len(w[i][2]) > 3]
        if not at:
            return None
        i = rng.choice(at)
        gloss = "[" + rng.choice(("to ", "the ", "")) + w[i][2] + "]"
        cut = w[i - 1][1]
        return sentence[:cut] + " " + gloss + sentence[cut:], cut + 1, cut + 1 + len(gloss)
    if kind == "function_word":
        drops = [i for i in inner if w[i][2].lower() in {"the", "a", "an"}]
        swaps = [i for i in inner if w[i][2] in _PREPOSITIONS]
        if not drops and not swaps:
            return None
        if drops and (not swaps or rng.random() < 0.5):
            i = rng.choice(drops)
            out = sentence[: w[i][0]] + sentence[w[i + 1][0] :]
            return out, w[i][0], w[i][0] + len(w[i + 1][2])
        i = rng.choice(swaps)
        new = _PREPOSITIONS[w[i][2]]
        return sentence[: w[i][0]] + new + sentence[w[i][1] :], w[i][0], w[i][0] + len(new)
    if kind == "agreement":
        at = [i for i in range(1, n - 1) if w[i][2] in _AGREEMENT]
        if not at:
            return None
        i = rng.choice(at)
        new = _AGREEMENT[w[i][2]]
        return sentence[: w[i][0]] + new + sentence[w[i][1] :], w[i][0], w[i][0] + len(new)
    if kind == "decoding_loop":
        size = rng.choice((2, 3, 4))
        at = [i for i in range(size, n - 1) if all(w[k][2][:1].isalnum() for k in range(i - size + 1, i + 1))]
        if not at:
            return None
        i = rng.choice(at)
        phrase = sentence[w[i - size + 1][0] : w[i][1]]
        copies = rng.choice((1, 2))
        sep = rng.choice((" ", ", "))
        added = "".join(sep + phrase for _ in range(copies))
        cut = w[i][1]
        return sentence[:cut] + added + sentence[cut:], w[i - size + 1][0], cut + len(added)
    if kind == "midsentence_capital":
        at = [i for i in inner if w[i][2] in _CAPITALISABLE]
        if not at:
            return None
        i = rng.choice(at)
        word = w[i][2]
        return sentence[: w[i][0]] + word[0].upper() + word[1:] + sentence[w[i][1] :], w[i][0], w[i][1]
    if kind == "clause_split":
        at = [i for i in range(3, n - 3) if w[i][2] in _CLAUSE_WORDS and w[i - 1][2] == ","]
        if not at:
            return None
        i = rng.choice(at)
        word = w[i][2]
        comma = w[i - 1][0]
        out = sentence[:comma] + ". " + word[0].upper() + word[1:] + sentence[w[i][1] :]
        return out, comma, comma + 2 + len(word)
    raise ValueError(f"unknown artifact kind {kind!r}")


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of plain English (a simple splitter: enough to choose where to plant)."""
    out, start = [], 0
    for m in [*_BOUNDARY.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        if m is not None and text[m.start() : m.start() + 1] in "\"'”’)":
            end = m.start() + len(m.group()) - len(m.group().lstrip("\"'”’)"))
        if text[start:end].strip():
            lead = len(text[start:end]) - len(text[start:end].lstrip())
            out.append((start + lead, end))
        start = m.end() if m is not None else len(text)
    return out


def plant(
    text: str, rng: random.Random, rate: float = 0.25, kinds: tuple[str, ...] = KINDS, skip_first: bool = True
) -> tuple[str, list[Planted]]:
    """Corrupt about `rate` of the sentences of `text` (one artifact each, of a kind drawn from `kinds` that
    applies to the sentence); `skip_first` leaves the headline alone."""
    spans = sentences(text)
    out, planted, shift = text, [], 0
    for n, (a, b) in enumerate(spans):
        if (skip_first and n == 0) or rng.random() >= rate:
            continue
        original = text[a:b]
        for kind in rng.sample(list(kinds), len(kinds)):
            done = corrupt(original, kind, rng)
            if done is None:
                continue
            new, s, e = done
            at = a + shift
            out = out[:at] + new + out[at + len(original) :]
            planted.append(Planted(at + s, at + e, kind, at, at + len(new), original))
            shift += len(new) - len(original)
            break
    return out, planted


def plant_idioms(text: str, planted: list[Planted], rng: random.Random, rate: float = 0.5) -> tuple[str, list[Planted]]:
    """`plant`'s output with about `rate` of the sentences it left alone that hold a listed English idiom given
    its calque instead (`idioms.py`); the other artifacts keep their places (their spans shifted)."""
    touched = [(p.sentence_start, p.sentence_end) for p in planted]
    out, added = text, []
    # last sentence first: a change moves only what follows it
    for a, b in reversed(sentences(text)[1:]):
        if any(a < e and b > s for s, e in touched) or rng.random() >= rate:
            continue
        done = calque_in(text[a:b], rng)
        if done is None:
            continue
        new, s, e = done
        shift = len(new) - (b - a)
        out = out[:a] + new + out[b:]
        planted = [_shifted(p, a, shift) for p in planted]
        added = [_shifted(p, a, shift) for p in added]
        added.append(Planted(a + s, a + e, "idiom", a, a + len(new), text[a:b]))
    return out, sorted([*planted, *added], key=lambda p: p.start)


def _shifted(p: Planted, at: int, shift: int) -> Planted:
    """A planted artifact after the text changed at `at` by `shift` characters."""
    if p.sentence_start <= at:
        return p
    return replace(
        p,
        start=p.start + shift,
        end=p.end + shift,
        sentence_start=p.sentence_start + shift,
        sentence_end=p.sentence_end + shift,
    )
