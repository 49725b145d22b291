"""Word-for-word renderings of foreign idioms, for the restoration benchmark's `idiom` artifacts: an English
idiom of news prose replaced by what a literal translation of the source language's own idiom gives ("took
part in" -> "took participation in", from Russian "принимать участие", literally "to take participation").

Where the list comes from: each entry names the source-language idiom whose literal, word-by-word rendering is
the calque, and cites the Wiktionary entry of that idiom (which gives its idiomatic English translation, the
English side here). The literal glosses are word-by-word translations of those entries' words. The list was
compiled by hand for this benchmark from those entries and checked against none of the seeds' sentences; the
citations were not fetched from this machine (it has no network). Calques that are also ordinary English ("take
measures", "play a role") are left out: planting them would not corrupt the sentence.

Nothing at run time imports this module: the corrector has no table of these calques, so the benchmark measures
whether the general machinery (the language model's edits, the grammar libraries) repairs calques it was never
told about.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_WIKT = "https://en.wiktionary.org/wiki/"


@dataclass(frozen=True)
class Idiom:
    english: str  # the idiom as English news writes it (base form: its verb, when it starts with one, inflects)
    calque: str  # the word-for-word rendering of the source-language idiom
    lang: str  # the source language (ISO 639-1)
    source: str  # the source-language idiom
    cite: str  # where the source idiom and its English translation are recorded

    def forms(self) -> list[tuple[str, str]]:
        """(English, calque) pairs for each form of the idiom: the base, and its verb's inflections where both
        sides start with a verb the table knows."""
        out = [(self.english, self.calque)]
        head_en, _, rest_en = self.english.partition(" ")
        head_ca, _, rest_ca = self.calque.partition(" ")
        if head_en in VERB_FORMS and head_ca in VERB_FORMS:
            for form_en, form_ca in zip(VERB_FORMS[head_en], VERB_FORMS[head_ca], strict=True):
                out.append((f"{form_en} {rest_en}".strip(), f"{form_ca} {rest_ca}".strip()))
        return out


# third person, past, -ing, past participle
VERB_FORMS = {
    "take": ("takes", "took", "taking", "taken"),
    "have": ("has", "had", "having", "had"),
    "pay": ("pays", "paid", "paying", "paid"),
    "turn": ("turns", "turned", "turning", "turned"),
    "make": ("makes", "made", "making", "made"),
    "accept": ("accepts", "accepted", "accepting", "accepted"),
    "obtain": ("obtains", "obtained", "obtaining", "obtained"),
    "keep": ("keeps", "kept", "keeping", "kept"),
}

IDIOMS = (
    Idiom("take part", "take participation", "ru", "принимать участие", _WIKT + "принимать_участие"),
    Idiom("pay attention", "turn attention", "ru", "обращать внимание", _WIKT + "обращать_внимание"),
    Idiom("take into account", "take into attention", "ru", "принимать во внимание", _WIKT + "принимать_во_внимание"),
    Idiom("take place", "have place", "fr", "avoir lieu", _WIKT + "avoir_lieu"),
    Idiom("make sense", "have sense", "ru", "иметь смысл", _WIKT + "иметь_смысл"),
    Idiom("keep in mind", "have in view", "ru", "иметь в виду", _WIKT + "иметь_в_виду"),
    Idiom("make a decision", "accept a decision", "ru", "принять решение", _WIKT + "принимать_решение"),
    Idiom("make progress", "obtain progress", "zh", "取得进展", _WIKT + "取得"),
    Idiom("on the other hand", "from the other side", "ru", "с другой стороны", _WIKT + "с_другой_стороны"),
    Idiom("on the one hand", "from one side", "ru", "с одной стороны", _WIKT + "с_одной_стороны"),
    Idiom("first of all", "in the first turn", "ru", "в первую очередь", _WIKT + "в_первую_очередь"),
    Idiom("one way or another", "so or otherwise", "ru", "так или иначе", _WIKT + "так_или_иначе"),
    Idiom("in other words", "with other words", "de", "mit anderen Worten", _WIKT + "mit_anderen_Worten"),
    Idiom("as a result", "in the result", "ru", "в результате", _WIKT + "в_результате"),
    Idiom("at the moment", "in the given moment", "ru", "в данный момент", _WIKT + "в_данный_момент"),
    Idiom("in the end", "in the end of ends", "ru", "в конце концов", _WIKT + "в_конце_концов"),
    Idiom("at the same time", "in that same time", "ru", "в то же время", _WIKT + "в_то_же_время"),
    Idiom("at the time", "in that time", "ru", "в то время", _WIKT + "в_то_время"),
    Idiom("at least", "by the extreme measure", "ru", "по крайней мере", _WIKT + "по_крайней_мере"),
    Idiom("at the end of", "in the end of", "ru", "в конце", _WIKT + "в_конце"),
    Idiom("in recent years", "in the last years", "ru", "в последние годы", _WIKT + "последний"),
    Idiom("a number of", "a row of", "ru", "ряд", _WIKT + "ряд"),
    Idiom("according to", "by the words of", "ru", "по словам", _WIKT + "по_словам"),
    Idiom("for example", "by example", "fr", "par exemple", _WIKT + "par_exemple"),
    Idiom("for the first time", "in the first time", "ru", "в первый раз", _WIKT + "в_первый_раз"),
    Idiom("in the long run", "on long sight", "de", "auf lange Sicht", _WIKT + "auf_lange_Sicht"),
    Idiom("in the near future", "in the nearest future", "ru", "в ближайшем будущем", _WIKT + "ближайший"),
    Idiom("at first glance", "on the first look", "ru", "на первый взгляд", _WIKT + "на_первый_взгляд"),
    Idiom("around the world", "along the whole world", "ru", "по всему миру", _WIKT + "по_всему_миру"),
    Idiom("all over the world", "along the whole world", "ru", "по всему миру", _WIKT + "по_всему_миру"),
    Idiom("in charge of", "answering for", "ru", "отвечать за", _WIKT + "отвечать"),
    Idiom("once again", "yet one time", "ru", "ещё раз", _WIKT + "ещё_раз"),
    Idiom("so far", "until these times", "ru", "до сих пор", _WIKT + "до_сих_пор"),
)


def _pattern(english: str) -> re.Pattern[str]:
    # the first letter in either case (a sentence may start with the idiom); the rest as written
    first, rest = english[0], re.escape(english[1:])
    return re.compile(rf"(?<![\w'’-])[{first.lower()}{first.upper()}]{rest}(?![\w'’-])")


FORMS = tuple((_pattern(en), calque) for idiom in IDIOMS for en, calque in idiom.forms())


def calque_in(sentence: str, rng: random.Random) -> tuple[str, int, int] | None:
    """The sentence with one listed English idiom replaced by its calque, and the calque's span in it; None when
    it holds none. An idiom inside a longer listed one ("the end of" in "at the end of") is not taken alone."""
    found = [(m.start(), m.end(), calque) for pattern, calque in FORMS for m in pattern.finditer(sentence)]
    found = [f for f in found if not any(g != f and g[0] <= f[0] and g[1] >= f[1] for g in found)]
    if not found:
        return None
    start, end, calque = rng.choice(sorted(found))
    if sentence[start].isupper():
        calque = calque[0].upper() + calque[1:]
    return sentence[:start] + calque + sentence[end:], start, start + len(calque)
