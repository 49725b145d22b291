"""Text helpers shared by the stages: the word and token patterns, detokenising evaluation data."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

# Closed-class words: a capitalised one in mid-sentence ("NATO He will", "[to invade] By de-escalation")
# is almost never a name, so it marks a sentence stitched together from pieces.
PRONOUNS = {"He", "She", "It", "They", "We", "I", "You"}
FUNCTION_WORDS = PRONOUNS | {
    "By",
    "Of",
    "In",
    "On",
    "At",
    "To",
    "For",
    "From",
    "With",
    "And",
    "But",
    "Or",
    "Nor",
    "As",
    "If",
    "Than",
    "That",
    "Which",
    "Who",
    "Whom",
    "Whose",
    "Their",
    "His",
    "Her",
    "Its",
    "Our",
    "Your",
    "My",
    "These",
    "Those",
    "This",
    "Them",
    "Him",
    "Us",
    "Was",
    "Were",
    "Is",
    "Are",
    "Be",
    "Been",
    "Has",
    "Have",
    "Had",
    "Will",
    "Would",
    "Can",
    "Could",
    "Should",
    "May",
    "Might",
    "Must",
    "Shall",
    "Not",
    "Also",
    "Into",
    "Onto",
    "Upon",
    "About",
    "After",
    "Before",
    "During",
    "Through",
    "Between",
    "Against",
    "Without",
}
# Function words that machine translation gets wrong while the sentence still reads on: one preposition for
# another, a verb's number, a dropped article (the detector's function-word edits, the suggestions' confidence).
PREPOSITIONS = ("in", "on", "at", "for", "to", "of", "with", "by", "from", "about", "into")
NUMBER_PAIRS = {"is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "have": "has"}
ARTICLES = ("the", "a", "an")
# Words after which no article goes ("the their plan"): determiners, quantifiers, possessives
NO_ARTICLE_AFTER = {"the", "a", "an", "this", "that", "these", "those", "his", "her", "its", "their", "our", "my"}
NO_ARTICLE_AFTER |= {"your", "some", "any", "no", "each", "every", "all", "both", "either", "neither", "such"}
NO_ARTICLE_AFTER |= {"many", "much", "few", "several", "whose", "which", "what", "another", "other", "more", "most"}

# Light (support) verbs: in "take place", "make a decision", "give a speech" the noun carries the meaning and the
# verb is fixed by usage, so a translation that renders the source language's own verb word for word ("have
# place", French "avoir lieu"; "accept a decision", Russian "принять решение") keeps the meaning and breaks the
# idiom. The five of Huddleston & Pullum, The Cambridge Grammar of the English Language (2002), p. 290; their
# forms: base, third person, past, -ing, past participle.
LIGHT_VERBS = (
    ("do", "does", "did", "doing", "done"),
    ("give", "gives", "gave", "giving", "given"),
    ("have", "has", "had", "having", "had"),
    ("make", "makes", "made", "making", "made"),
    ("take", "takes", "took", "taking", "taken"),
)
LIGHT_VERB_FORMS = {form for forms in LIGHT_VERBS for form in forms}


def light_verb_swaps(word: str) -> list[str]:
    """The other light verbs in the same form as `word` ("having" -> "doing", "giving", "making", "taking"; "had",
    past or participle, -> "did", "done", ...), in the word's case; none for a word that is no light verb."""
    lower = word.lower()
    out: list[str] = []
    for slot in range(5):
        if not any(forms[slot] == lower for forms in LIGHT_VERBS):
            continue
        for forms in LIGHT_VERBS:
            if lower not in forms and forms[slot] not in out:
                out.append(forms[slot])
    return [w.capitalize() for w in out] if word[:1].isupper() else out


_A_BEFORE = ("uni", "use", "usu", "ute", "eu", "one", "once", "ewe")  # a vowel letter, a consonant sound
_AN_BEFORE = ("hour", "honest", "honor", "honour", "heir")  # a silent h


def indefinite_article(word: str) -> str:
    """ "a" or "an" before a word, by its sound as far as spelling tells it (an abbreviation is read letter by
    letter: "an FBI", "a US")."""
    if len(word) > 1 and word.isupper():
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    lower = word.lower()
    if lower.startswith(_AN_BEFORE):
        return "an"
    return "an" if lower[:1] in ("a", "e", "i", "o", "u") and not lower.startswith(_A_BEFORE) else "a"


# Words that start a clause that MT may cut off as a sentence of its own ("the plan. Which was"): relative
# pronouns, "but", and subordinating conjunctions
CLAUSE_WORDS = {"which", "who", "whom", "whose", "where", "while", "whereas", "although", "though", "but"}
CLAUSE_WORDS |= {"when", "because"}
RELATIVES = {"which", "who", "whom", "whose"}


def keeps_capital(word: str) -> bool:
    """Whether a capitalised word keeps its capital in mid-sentence, where a lost full stop or a stray capital is
    mended: a name does ("region. Crimea and"); a function word, a clause word, an article or "There" does not
    ("the Vatican. Where he" -> "the Vatican, where he"; "said that The companies" -> "said that the companies")."""
    return not (word in FUNCTION_WORDS or word.lower() in CLAUSE_WORDS or word in ("The", "A", "An", "There"))


def joins(word_before: str, opener: str) -> tuple[str, ...]:
    """How to join two pieces of a sentence a full stop cut, by the words either side of it: a comma before a
    relative clause that describes a name or any "which" clause (news style keeps "which" for clauses that add,
    set off by a comma), a space or a comma before another clause word, else a space."""
    opener = opener.lower()
    if opener == "which" or (opener in RELATIVES and word_before[:1].isupper()):
        return (", ",)
    return (" ", ", ") if opener in CLAUSE_WORDS else (" ",)


_NO_SPACE_BEFORE = {
    ".",
    ",",
    ":",
    ";",
    "!",
    "?",
    "%",
    ")",
    "]",
    "}",
    "'s",
    "'re",
    "'ve",
    "'ll",
    "'d",
    "'m",
    "n't",
    "’s",
    "…",
}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "£", "€", "#"}
_WORD_RE = re.compile(r"\S+")

# One word (letters, digits, apostrophes and hyphens: "don't", "semi-autonomous"), for rules, edits and guards.
WORD = re.compile(r"[\w’'\-]+")
# One token of the rules and the corrector: a word as above, or a single punctuation mark.
TOKEN = re.compile(r"[\w’'\-]+|[^\w\s]")


def unescape_tokens(tokens: list[str]) -> list[str]:
    """MQM files carry Moses escapes (&apos; &quot; &amp;) and a final <EOS> token."""
    return [html.unescape(t) for t in tokens]


def detokenize(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join whitespace tokens into readable text; return the text and each token's character span."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    quote_open = False
    previous = ""
    for token in tokens:
        glue = bool(out)
        if token in _NO_SPACE_BEFORE or token.lower() in _NO_SPACE_BEFORE or previous in _NO_SPACE_AFTER:
            glue = False
        if token == '"':
            # Straight quotes alternate: an opening one sticks to the next token, a closing one to the last.
            if quote_open:
                glue = False
            quote_open = not quote_open
        elif previous == '"' and quote_open:
            glue = False
        if glue:
            out.append(" ")
            length += 1
        spans.append((length, length + len(token)))
        out.append(token)
        length += len(token)
        previous = token
    return "".join(out), spans


def words(text: str) -> Iterator[tuple[int, int]]:
    """Whitespace-delimited words as (start, end) spans."""
    for m in _WORD_RE.finditer(text):
        yield m.start(), m.end()
