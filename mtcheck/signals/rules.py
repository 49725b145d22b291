"""What is known about machine-translation artifacts, as rules over the text and its sentences.

Each rule is a small class in the registry `RULES`: it looks at one article and yields `Hit`s (a character
span, its reason code, a readable message), with its confidence (how often it alone marks a real error) and
its weight toward severity named on the class. Rules never decide severity alone; the detector combines them
with the language model's evidence. To add one: subclass `Rule`, decorate it with `@register`, give it a code
in `core/codes.py` and a test in tests/test_rules.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import ClassVar

from mtcheck.core.article import Article, Segment
from mtcheck.core.codes import Code
from mtcheck.core.text import FUNCTION_WORDS, PRONOUNS, RELATIVES, TOKEN, WORD
from mtcheck.core.types import Fix, FixSource, Hit


class Rule:
    """One MT artifact. Subclasses set `code`, `confidence` and `weight` and yield hits from `find`."""

    code: ClassVar[Code]
    confidence: ClassVar[float]
    weight: ClassVar[float] = 1.0

    def find(self, article: Article) -> Iterator[Hit]:
        raise NotImplementedError

    def hit(
        self,
        start: int,
        end: int,
        message: str,
        *,
        code: Code | None = None,
        confidence: float | None = None,
        weight: float | None = None,
        fix: Fix | None = None,
    ) -> Hit:
        return Hit(
            start,
            end,
            code or self.code,
            message,
            confidence=self.confidence if confidence is None else confidence,
            weight=self.weight if weight is None else weight,
            fix=fix,
        )


RULES: list[Rule] = []


def register(cls: type[Rule]) -> type[Rule]:
    RULES.append(cls())
    return cls


# Titles that legitimately carry a capital article ("The Hague", "in A Coruña") are followed by a capital.
_OPENERS = set("\"“‘'([{—–-:;…")

# Sentence endings that leave a clause unfinished: "that NATO He will." "the decision of the."
_DANGLING_END = re.compile(
    r"\b(?P<w>will|would|can|could|shall|should|may|might|must|the|a|an|of|to|and|or|but|with|from|by|"
    r"into|than|whose|their|its|his|her|our|your)\s*[.!?]$",
    re.IGNORECASE,
)

# Punctuation that MT doubles when it splits and rejoins sentences: "right. .", "Russia. . European", ",,".
_DOUBLED_PUNCT = re.compile(r"(?<![.…])([.,;:!?])(\s+[.,;:]|[,;:])(?![.\w])|(?<![.…])([,;:])\s*\.(?!\.)")

# Bracketed glosses that MT leaves in ("had no intention of [to invade] By ...", "clear[to Russia]that").
_BRACKET = re.compile(r"\[[^\[\]\n]{1,80}\]")

# Scripts that should not remain in an English translation.
_FOREIGN_SCRIPTS = (
    "CJK",
    "HANGUL",
    "HIRAGANA",
    "KATAKANA",
    "CYRILLIC",
    "ARABIC",
    "HEBREW",
    "THAI",
    "DEVANAGARI",
    "SINHALA",
    "GEORGIAN",
    "ARMENIAN",
    "GREEK",
    "BENGALI",
    "TAMIL",
)

# Calques: literal renderings of idioms, with the English idiom. Kept short and specific on purpose: each
# entry is a documented MT error pattern, not a style preference (docs/detection.md lists sources).
CALQUES: tuple[tuple[str, str, str, float], ...] = (  # pattern, idiom, why, confidence
    (
        r"\bno start(?:ers?)?\b(?= for| to)",
        "a non-starter",
        "“no start for” renders “non-starter” word by word",
        0.8,
    ),
    # The same idiom after a round trip through another language: "non-starter" -> "not (just) the beginning".
    (
        r"\bnot (?:just |even )?(?:a |the )?(?:start|beginning|starting point)s? for\b",
        "a non-starter for",
        "“not (just) the beginning for” is how MT renders “a non-starter for” after a round trip",
        0.55,
    ),
    (
        r"\bpressure cards?\b",
        "leverage",
        "“pressure card” is a calque of the Korean 압박 카드 (“means of pressure”, “leverage”)",
        0.8,
    ),
    (
        r"\b(?:diplomatic|negotiation|negotiating|bargaining) cards? (?:against|from|toward|towards)\b",
        "leverage against",
        "“card” in the sense of “option, means of pressure” is a Korean/Chinese calque",
        0.6,
    ),
)
_CALQUE_RE = [(re.compile(p, re.IGNORECASE), idiom, why, conf) for p, idiom, why, conf in CALQUES]

_WORD = WORD


def _sentences(article: Article) -> list[Segment]:
    return [s for s in article.segments if s.kind in ("sentence", "title")]


def _word_before(text: str, pos: int, floor: int) -> tuple[int, int] | None:
    last = None
    for last in _WORD.finditer(text, floor, pos):  # noqa: B007 - the last match is the one wanted
        pass
    return (last.start(), last.end()) if last else None


def _word_after(text: str, pos: int, ceiling: int) -> tuple[int, int] | None:
    m = _WORD.search(text, pos, ceiling)
    return (m.start(), m.end()) if m else None


@register
class DoubledPunctuation(Rule):
    """Punctuation doubled where MT split and rejoined sentences: "right. .", ",,"."""

    code, confidence, weight = Code.DOUBLED_PUNCTUATION, 0.9, 1.5

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        for seg in _sentences(article):
            for m in _DOUBLED_PUNCT.finditer(text, seg.start, seg.end):
                before = _word_before(text, m.start(), seg.start)
                dotted = _DOTTED_WORD.search(text, seg.start, m.start())  # "a.m", "U.S": the word with its inner stops
                if (
                    text[m.start()] == "."
                    and not text[m.start() + 1].isspace()
                    and dotted
                    and _abbreviation(dotted.group())
                ):
                    continue  # "Co., Ltd.", "etc.;", "J.,", "8 a.m.," : the stop ends an abbreviation
                if text[m.start()] in "!?" and text[m.start() + 1] in ",;:":
                    continue  # "bought by oOh!, was", "Yahoo!, Google": a name's own "!", then the comma
                start = before[0] if before else m.start()
                yield self.hit(
                    start,
                    m.end(),
                    f"Doubled punctuation “{text[m.start() : m.end()]}”: a sentence was split or rejoined.",
                )


_DOTTED_WORD = re.compile(r"[\w.]+$")
_ABBREVIATIONS = {"etc", "al", "co", "corp", "inc", "ltd", "jr", "sr", "st", "no", "vs", "dept", "govt"}
# abbreviations that lower-case words go on after in one sentence: "45 sq. m", "300 cub. m/s", "rice etc. and"
# (professional ru-en translations on the dev set got critical flags for "sq. m" and "cub. m/s")
_RUN_ON_ABBREVIATIONS = {"sq", "cu", "cub", "approx", "incl", "excl", "est", "etc", "vs", "cf", "viz", "ca"}


def _abbreviation(word: str) -> bool:
    """A word that a full stop ends as an abbreviation: a known one, initials ("J", "U.S", "a.m"), or a short
    capitalised word with no vowel ("Mr", "Dr")."""
    w = word.rstrip(".")
    if w.lower() in _ABBREVIATIONS or (len(w) <= 2 and w[:1].isupper()):
        return True
    if "." in w and all(len(part) <= 2 for part in w.split(".")):
        return True
    return w[:1].isupper() and len(w) <= 4 and not any(c in "aeiouAEIOU" for c in w)


@register
class BrokenBoundary(Rule):
    """A sentence that starts in lower case right after a full stop: the stop does not belong there."""

    code, confidence, weight = Code.BROKEN_BOUNDARY, 0.92, 2.0

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        sentences = _sentences(article)
        for prev, seg in zip(sentences, sentences[1:], strict=False):
            if prev.paragraph != seg.paragraph or prev.kind == "title":
                continue
            first = _word_after(text, seg.start, seg.end)
            if not first or text[prev.end - 1] not in ".!?":
                continue
            if text[prev.end - 1] == "." and text[first[0] : first[1]] in _RELATIVES and first[0] == seg.start:
                hit = self._relative_clause(text, prev, seg, first)
                if hit is not None:
                    yield hit
                continue
            if not text[first[0]].islower():
                continue
            if any(c.isupper() for c in text[first[0] + 1 : first[1]]):
                continue  # "oOh!media", "iPhone", "eBay": a name styled in lower case starts the sentence
            before = _word_before(text, prev.end, prev.start)
            if text[prev.end - 1] == "." and before and text[before[0] : before[1]].lower() in _RUN_ON_ABBREVIATIONS:
                continue  # "45 sq. m and": the stop ends an abbreviation, the segmenter split after it
            after2 = _word_after(text, first[1], seg.end)
            start = before[0] if before else prev.end - 1
            end = after2[1] if after2 else first[1]
            yield self.hit(
                start,
                end,
                f"A full stop cuts the sentence: “{text[first[0] : first[1]]}” goes on in lower case after it.",
            )

    def _relative_clause(self, text: str, prev: Segment, seg: Segment, first: tuple[int, int]) -> Hit | None:
        """A statement that starts with a relative pronoun ("Jamie Vardy. Who won"): a relative clause
        cut off from the sentence it belongs to; the repair joins them with a comma. A question ("Who won?") is
        none, nor a pronoun with a comma after it. No sentence of the dev and training articles, human or MT,
        starts so; "Which" is left be (two English-original dev articles start a sentence with it)."""
        body = text[seg.start : seg.end].rstrip("”’\"' ")
        if body.endswith("?") or text[first[1] : first[1] + 1] == ",":
            return None
        word = text[first[0] : first[1]]
        before = _word_before(text, prev.end, prev.start)
        after = _word_after(text, first[1], seg.end)
        start = before[0] if before else prev.end - 1
        fix = Fix(prev.end - 1, first[1], ", " + word.lower(), FixSource.RULE, "join the clause to its sentence")
        return self.hit(
            start,
            after[1] if after else first[1],
            f"“{word}” starts a sentence that asks nothing: a relative clause cut off from the sentence before it "
            "by a full stop.",
            fix=fix,
        )


# not "Which": "Which is why ...", "Which would be fine, so long as ..." are English writers' fragments too (two
# of the English-original dev articles)
_RELATIVES = {w.capitalize() for w in RELATIVES - {"which"}}


# "that The companies were": an article takes a capital only where a title or a name starts ("in The Hague",
# "the newspaper The Times"), and then the word after it has one too; not "A", a letter as often as an article
# ("vitamin A for", "plan A is")
_CAPITAL_ARTICLES = {"The", "An"}
# A capitalised note in brackets ends what comes before it: "(Laughter) And the", "[Photos] The true nature"
_STAGE_NOTE = re.compile(r"[(\[][A-Z][^()\[\]]{0,40}[)\]]$")
# Prepositions and conjunctions: between a lower-case word and a capitalised one they are no title's first word
# ("new payments To Americans"; none in the human dev and training articles)
_LINKING = {"And", "Or", "Nor", "But", "To", "From", "Of", "In", "On", "At", "By", "For", "With", "Into", "Than"}
# Conjunctions between two capitalised words: English capitalises neither in a name nor a title ("Twitter And
# Instagram", "the Hammersmith And City line" and "her own White And Gold Jewelry" of the MLQE-PE MT lines; none
# in the human dev and training articles, nor in the post-edits)
_NAME_JOINERS = {"And", "Or", "Nor"}


@register
class MidsentenceCapital(Rule):
    """A capitalised pronoun or function word in mid-sentence followed by a lower-case word; after a
    capitalised noun, a pronoun repeats it ("NATO He will"): a stray pronoun."""

    code, confidence, weight = Code.MIDSENTENCE_CAPITAL, 0.85, 1.5

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        for seg in _sentences(article):
            if seg.kind == "title":
                continue
            for m in _WORD.finditer(text, seg.start, seg.end):
                word = m.group()
                if (word not in FUNCTION_WORDS and word not in _CAPITAL_ARTICLES) or m.start() == seg.start:
                    continue
                prefix = text[seg.start : m.start()].rstrip()
                if not prefix or prefix[-1] in _OPENERS or prefix[-1] in ".!?" or _STAGE_NOTE.search(prefix):
                    continue
                nxt = _word_after(text, m.end(), seg.end)
                if nxt is None or word == "I":
                    continue
                before = _word_before(text, m.start(), seg.start)
                adjoining = before and before[1] == seg.start + len(prefix.removesuffix(","))
                word_before = text[before[0] : before[1]] if adjoining else ""
                after_lower = word_before.isalpha() and word_before[0].islower()
                between_names = word in _NAME_JOINERS and word_before.isalpha() and word_before[0].isupper()
                if not text[nxt[0]].islower() and not (word in _LINKING and after_lower) and not between_names:
                    continue  # a title or a name may start here ("in The Hague"), not with "payments To Americans"
                if word in _CAPITAL_ARTICLES and not after_lower:
                    # only right after a lower-case word, or its comma ("of course, The way"): not "Serie A side",
                    # "(Laughter) The plant", "■ A spokesman"
                    continue
                start = before[0] if before else m.start()
                if word in PRONOUNS and before and text[before[0]].isupper():
                    code, message = (
                        Code.STRAY_PRONOUN,
                        (
                            f"“{word}” repeats the subject “{text[before[0] : before[1]]}” in mid-sentence: "
                            "a duplicated subject typical of MT."
                        ),
                    )
                elif not text[nxt[0]].islower():
                    code, message = (
                        Code.MIDSENTENCE_CAPITAL,
                        (
                            f"“{word}” is capitalised in mid-sentence before a capitalised word: English writes it "
                            "lower-case inside a name or a title; a phrase was title-cased or a boundary lost."
                        ),
                    )
                else:
                    code, message = (
                        Code.MIDSENTENCE_CAPITAL,
                        (f"“{word}” is capitalised in mid-sentence: a sentence boundary was lost or misplaced."),
                    )
                yield self.hit(start, nxt[1], message, code=code)


@register
class DanglingEnd(Rule):
    """A sentence that stops on a modal, article or preposition ("that NATO He will.")."""

    code, confidence, weight = Code.TRUNCATED_SENTENCE, 0.6, 1.0

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        for seg in _sentences(article):
            body = text[seg.start : seg.end].rstrip("”’\"' ")
            m = _DANGLING_END.search(body)
            if not m or len(body.split()) < 5:
                continue
            start = seg.start + m.start("w")
            before = _word_before(text, start, seg.start)
            yield self.hit(
                before[0] if before else start,
                seg.start + m.end(),
                f"The sentence ends on “{m.group('w')}”: the clause is left unfinished.",
            )


@register
class BracketedInsertion(Rule):
    """A translator's gloss left in brackets ("had no intention of [to invade] By"); surer when it is glued to
    a word or reads as a verb phrase than when it may be an editor's insertion."""

    code, confidence, weight = Code.BRACKETED_INSERTION, 0.8, 1.2
    loose_confidence, loose_weight = 0.45, 0.6  # a bracket that may be an editor's: "[the minister]"

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        for seg in _sentences(article):
            for m in _BRACKET.finditer(text, seg.start, seg.end):
                glued = (m.start() > 0 and text[m.start() - 1].isalnum()) or (
                    m.end() < len(text) and text[m.end()].isalnum()
                )
                inner = m.group()[1:-1]
                verbal = bool(re.match(r"(?:to|will|would|be|is|are|was)\b", inner))
                sure = glued or verbal
                yield self.hit(
                    m.start(),
                    m.end(),
                    f"Bracketed insertion “{m.group()}”: a translator's gloss or an untranslated alternative "
                    "left in the text.",
                    confidence=self.confidence if sure else self.loose_confidence,
                    weight=self.weight if sure else self.loose_weight,
                )


@register
class UnbalancedQuotes(Rule):
    """A closing quote with no opening one inside a paragraph."""

    code, confidence, weight = Code.UNBALANCED_QUOTE, 0.35, 0.5

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        for p_start, p_end in article.paragraphs:
            depth = 0  # an opening quote left open at the end of a paragraph is normal: the quote goes on
            for i in range(p_start, p_end):
                ch = text[i]
                if ch == "“":
                    depth += 1
                elif ch == "”":
                    if depth == 0:
                        seg = _segment_at(article, i)
                        start = seg.start if seg else max(p_start, i - 60)
                        yield self.hit(
                            start, i + 1, "A closing quotation mark has no opening one: the quote was cut or moved."
                        )
                    else:
                        depth -= 1


@register
class ForeignScript(Rule):
    """Text in another script left untranslated."""

    code, confidence, weight = Code.UNTRANSLATED, 0.85, 1.5

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        for seg in _sentences(article):
            i = seg.start
            while i < seg.end:
                if _is_foreign(text[i]):
                    j = i
                    while j < seg.end and (_is_foreign(text[j]) or text[j] in " ·-"):
                        j += 1
                    yield self.hit(i, j, f"Text in another script left untranslated: “{text[i:j].strip()}”.")
                    i = j
                else:
                    i += 1


@register
class Calques(Rule):
    """Literal renderings of idioms from the table `CALQUES`, each with its own confidence; the fix is the
    English idiom."""

    code, confidence, weight = Code.CALQUE, 0.8, 1.2

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        for seg in _sentences(article):
            for pattern, idiom, why, conf in _CALQUE_RE:
                for m in pattern.finditer(text, seg.start, seg.end):
                    fix = Fix(
                        m.start(),
                        m.end(),
                        _match_case(m.group(), idiom),
                        FixSource.RULE,
                        f"the English idiom for this calque is “{idiom}”",
                    )
                    message = f"Word-for-word rendering: {why}; English says “{idiom}”."
                    yield self.hit(m.start(), m.end(), message, confidence=conf, fix=fix)


def _match_case(original: str, replacement: str) -> str:
    return replacement[0].upper() + replacement[1:] if original[:1].isupper() else replacement


def _is_foreign(ch: str) -> bool:
    if ch.isascii() or not ch.isalpha():
        return False
    name = unicodedata.name(ch, "")
    return any(name.startswith(s) for s in _FOREIGN_SCRIPTS)


def _segment_at(article: Article, pos: int) -> Segment | None:
    for seg in article.segments:
        if seg.start <= pos < seg.end:
            return seg
    return None


_LOOP_MAX_TOKENS = 16


# words that open a noun phrase: a phrase that starts with one may well be said twice in a row ("a licence, a
# licence certificate"); FUNCTION_WORDS holds some of them, which do not make a two-word repeat a loop
_DETERMINERS = {"a", "an", "the", "this", "that", "these", "those", "his", "her", "its", "their", "our", "your", "my"}


@register
class RepeatedPhrase(Rule):
    """A phrase repeated back to back ("Xinjiang Shaya, Xinjiang Shaya, Xinjiang Shaya, ..."): the decoding
    loop of a neural MT system. Three copies of a short phrase, two of a phrase of three words or more, two of
    a two-word phrase with a comma between them ("signed by, signed by"), two of two content words with nothing
    between ("give individuals give individuals"), or a number and its unit said again to end the phrase ("100
    feet, 100 feet."); commas between copies do not count ("of convalescent, of convalescent"). The span is the
    copies after the first, which the fix drops."""

    code, confidence, weight = Code.REPEATED_PHRASE, 0.9, 2.0

    def find(self, article: Article) -> Iterator[Hit]:
        text = article.text
        for p_start, p_end in article.paragraphs:
            # commas aside: a loop repeats the phrase with or without them ("A B, A B, A B" and "A B A B A B")
            toks = [m for m in TOKEN.finditer(text, p_start, p_end) if m.group() != ","]
            words = [m.group() for m in toks]
            i = 0
            while i < len(words):
                best = None  # (covered tokens, n, copies)
                for n in range(1, min(_LOOP_MAX_TOKENS, (len(words) - i) // 2) + 1):
                    unit = words[i : i + n]
                    alpha = sum(w[0].isalpha() for w in unit)
                    if alpha == 0:
                        continue
                    copies = 1
                    while words[i + copies * n : i + (copies + 1) * n] == unit:
                        copies += 1
                    # two words twice with a comma between: a loop when one of them is a function word that joins
                    # ("signed by, signed by", "of convalescent, of convalescent"), or when the second copy ends
                    # the phrase ("fake news, fake news, and"); not a name said again ("Hong Kong, Hong Kong
                    # affairs") nor a noun phrase said again that goes on ("renewal of a license, a license
                    # certificate": both false flags on zh-en dev lines)
                    comma = copies == 2 and "," in text[toks[i + n - 1].end() : toks[i + n].start()]
                    joining = any(w.capitalize() in FUNCTION_WORDS and w.lower() not in _DETERMINERS for w in unit)
                    after = words[i + 2 * n].lower() if comma and i + 2 * n < len(words) else "."
                    named = all(w[0].isupper() for w in unit if w[0].isalpha())
                    ends = not named and (not after[0].isalnum() or after in ("and", "or"))
                    # two words twice with nothing between, neither a function word nor a name: no English
                    # writer says "give individuals give individuals"; "faster and faster" is not a repeat of two
                    # and "Jamie Vardy Jamie Vardy" (a caption run into the text) is a name
                    content = not any(w.capitalize() in FUNCTION_WORDS or w.lower() in _DETERMINERS for w in unit)
                    solid = copies == 2 and "," not in text[toks[i].start() : toks[i + 2 * n - 1].end()]
                    bare = alpha == 2 and solid and content and not named
                    # a number and its unit said again to end the phrase ("was 100 feet, 100 feet.")
                    measure = n == 2 and alpha == 1 and comma and not after[0].isalnum()
                    said_twice = alpha >= 3 or bare or measure or (alpha == 2 and comma and (joining or ends))
                    if copies >= 3 or (copies == 2 and said_twice):
                        if best is None or copies * n > best[0]:
                            best = (copies * n, n, copies)
                if best is None:
                    i += 1
                    continue
                covered, n, copies = best
                start, end = toks[i + n].start(), toks[i + covered - 1].end()
                phrase = text[toks[i].start() : toks[i + n - 1].end()]
                first_end = toks[i + n - 1].end()
                why = f"keep one “{phrase}”, drop its repeats"
                fix = Fix(first_end, end, "", FixSource.RULE, why, keeps_words=True)
                message = (
                    f"“{phrase}” is repeated {copies} times in a row: "
                    "a translation loop, the MT system repeated itself."
                )
                yield self.hit(start, end, message, fix=fix)
                i += covered


def run_rules(article: Article) -> list[Hit]:
    return [hit for rule in RULES for hit in rule.find(article)]
