"""Proposed readings for flagged spans: candidates from small edits, MT-artifact rules, the grammar libraries
(`gec.py`: a GECToR tagger, Harper) and a rewrite by the instruction-tuned model, ranked by the language
model's gain over the whole sentence in context, filtered by meaning guards. Nothing is applied: suggestions
are for a person to accept or reject.

Ranking: gain = log P(corrected sentence | previous sentence) - log P(original | previous sentence), minus
the unigram log-probability of the words the edit removes and plus that of the words it adds (SLOR-style),
so that shorter is not automatically better. All candidates of an article are rescored in one batch on the
pass's key-value cache, from the token where each differs from the original (`UnitPass.window_gains`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from itertools import combinations, islice

from mtcheck.core.article import Article
from mtcheck.core.codes import MODEL_EVIDENCE, Severity
from mtcheck.core.signature import Signature
from mtcheck.core.text import (
    ARTICLES,
    PRONOUNS,
    TOKEN,
    WORD,
    indefinite_article,
    joins,
    keeps_capital,
    light_verb_swaps,
)
from mtcheck.core.types import FixSource, Flag, Suggestion
from mtcheck.correct import guards
from mtcheck.correct.confidence import SuggestionConfidence
from mtcheck.correct.gec import HarperLinter, QuireTagger, apply_edits, touches
from mtcheck.correct.rewrite import Rewriter
from mtcheck.lm.model import LanguageModel
from mtcheck.lm.unigram import UnigramTable
from mtcheck.lm.units import ArticleScores
from mtcheck.signals.editgain import context_start

# Words and punctuation marks of a flag beyond which no small edits are tried (the seeds' longest garbled flag
# is about a dozen): the cost of ranking grows with the candidates times the window they are read over.
MAX_EDITED_TOKENS = 40
_DOUBLED = re.compile(r"([.,;:!?])(\s+[.,;:])+(?![.\w])")
_BRACKET = re.compile(r"\s?\[[^\[\]\n]{1,80}\]\s?")
# After these a light verb is an auxiliary ("had been", "did not", "have to"): no idiom's verb to swap
_AUXILIARY_NEXT = {"been", "not", "n't", "to", "you", "it", "he", "she", "they", "we", "i"}


@dataclass
class Candidate:
    """A reading being ranked (mutable while it is scored; what leaves the corrector is a `Suggestion`)."""

    start: int  # article offsets of the replaced span
    end: int
    replacement: str
    source: FixSource
    why: str
    gain: float = 0.0
    sentence: str = ""
    keeps_words: bool = False  # drops repeated copies only: no SLOR charge for the words it removes


@dataclass
class CorrectorSettings:
    max_suggestions: int = 5
    max_edits_per_flag: int = 60  # single and paired small edits, the cheapest first
    rewrite: bool = False  # ask the instruction-tuned model for one rewrite per major/critical flag (--rewrite)
    min_gain: float = 0.5  # nats: a suggestion must make the sentence more probable
    similarity: bool = True  # embedding guard (loads minilm-l6)
    min_severity: Severity = Severity.MINOR  # flags below this get no suggestions (the gate asks for major)
    gec: bool = True  # candidates from the grammar libraries (correct/gec.py: the GECToR tagger, Harper)


class Corrector:
    def __init__(self, lm: LanguageModel, settings: CorrectorSettings | None = None):
        self.lm = lm
        self.settings = settings or CorrectorSettings()
        self.unigram = UnigramTable.load(lm.name)
        self._embedder: guards.Embedder | None = None
        self._rewriter: Rewriter | None = None
        self._gec: list | None = None
        self._loading = threading.Lock()  # articles checked at once (`--jobs`) load each model once
        self.confidence = SuggestionConfidence.for_model(lm.name)

    def signature(self) -> Signature:
        s = self.settings
        return Signature.of(
            ("corrector", f"edits{s.max_edits_per_flag}"),
            ("rewrite", "yes" if s.rewrite else "no"),
            ("min_gain", s.min_gain),
            ("similarity", guards.MIN_SIMILARITY if s.similarity else "off"),
            ("gec", "quire+harper" if s.gec else "off"),
            ("sugconf", self.confidence.sha256[:12] if self.confidence else "none"),
            *((("for", s.min_severity.value),) if s.min_severity != Severity.MINOR else ()),
        )

    @property
    def embedder(self) -> guards.Embedder:
        with self._loading:
            if self._embedder is None:
                self._embedder = guards.Embedder(self.lm.device)
        return self._embedder

    @property
    def gec_tools(self) -> list:
        """The grammar libraries, loaded once (the tagger's weights are installed on first use)."""
        with self._loading:
            if self._gec is None:
                self._gec = [QuireTagger(threads=self.lm.threads), HarperLinter()] if self.settings.gec else []
        return self._gec

    @property
    def rewriter(self) -> Rewriter:
        with self._loading:
            if self._rewriter is None:
                self._rewriter = Rewriter(self.lm)
        return self._rewriter

    def suggest(self, article: Article, flags: list[Flag], scores: ArticleScores | None = None) -> list[Flag]:
        """The flags with their suggestions (best first) and the candidates their guards rejected. With the
        article's share of the one pass (`scores`), every flag's candidates are ranked in one batch on its cache."""
        rewrites: dict[int, str | None] = {}
        if self.settings.rewrite:
            wanted = [i for i, f in enumerate(flags) if Severity(f.severity).at_least(Severity.MAJOR)]  # rewrite
            windows = [_window(article, flags[i].start, _edit_end(article, flags[i])) for i in wanted]
            texts = [article.text[lo:hi] for lo, hi, _ctx in windows]
            rewrites = dict(zip(wanted, self.rewriter.rewrite_many(texts), strict=True))
        wanted = [Severity(f.severity).at_least(self.settings.min_severity) for f in flags]
        plans = [self._plan(article, flag, rewrites.get(i)) if wanted[i] else None for i, flag in enumerate(flags)]
        gains = self._gains(article, plans, scores)
        return [
            flag.with_suggestions(*self._ranked(article, flag, plan, raw)) if want else flag
            for flag, plan, raw, want in zip(flags, plans, gains, wanted, strict=True)
        ]

    def _gains(self, article: Article, plans: list, scores: ArticleScores | None) -> list:
        """Per plan: each candidate's log-probability gain over the original window, batched on the pass where it
        can be."""
        out: list = [None] * len(plans)
        windows, where = [], []
        for n, plan in enumerate(plans):
            if plan is None:
                continue
            lo, hi, context, candidates = plan
            variants = [(c.start, c.end, c.replacement) for c in candidates]
            window = scores.window(lo, hi, variants, context_start(article, lo)) if scores is not None else None
            if window is None:
                base, scored = self.lm.score_edits(
                    context, article.text[lo:hi], [(a - lo, b - lo, r) for a, b, r in variants]
                )
                out[n] = [x - base for x in scored]
            else:
                windows.append(window)
                where.append(n)
        if windows:
            assert scores is not None
            for n, result in zip(where, scores.passed.window_gains(windows), strict=True):
                out[n] = result
        return out

    def _charge(self, article: Article, c: Candidate) -> float:
        """The SLOR charge of a candidate: unigram surprisal of the words it removes less that of those it adds. A
        word it only lower-cases or capitalises ("second. When" -> "second, when") is neither: its capital's
        rarity is no information the sentence loses."""
        removed = article.text[c.start : c.end]
        if c.keeps_words and not c.replacement.strip() and _only_repeats(removed, c.sentence):
            removed = ""  # dropping repeated copies loses no word: no SLOR charge for the words it removes
        gone, added = charged_words(removed, c.replacement)
        return self._unigram(" ".join(gone)) - self._unigram(" ".join(added))

    # -- one flag -------------------------------------------------------------------------------------
    def _plan(self, article: Article, flag: Flag, rewritten: str | None):
        """The window a flag's candidates are ranked in, and the distinct candidates (None: nothing to rank)."""
        lo, hi, context = _window(article, flag.start, _edit_end(article, flag))
        if hi <= lo:
            return None
        candidates = self._candidates(article, flag, lo, hi)
        if rewritten:
            if rewritten != article.text[lo:hi]:
                candidates.append(
                    Candidate(
                        lo, hi, rewritten, FixSource.REWRITE, "the instruction-tuned model's rewrite of the sentence"
                    )
                )
        unique: dict[str, Candidate] = {}
        original = article.text[lo:hi]
        for c in candidates:
            sentence = article.text[lo : c.start] + c.replacement + article.text[c.end : hi]
            if sentence != original and sentence not in unique:
                c.sentence = sentence
                unique[sentence] = c
        return (lo, hi, context, list(unique.values())) if unique else None

    def _ranked(self, article: Article, flag: Flag, plan, raw) -> tuple[list[Suggestion], list[Suggestion]]:
        if plan is None:
            return [], []
        lo, hi, _context, candidates = plan
        original = article.text[lo:hi]
        for c, gain in zip(candidates, raw, strict=True):
            c.gain = gain - self._charge(article, c)
        candidates.sort(key=lambda c: -c.gain)
        candidates = [c for c in candidates if c.gain >= self.settings.min_gain]
        accepted, rejected = [], []
        pool = candidates[: self.settings.max_suggestions * 3]
        sims = (
            self.embedder.similarities(original, [c.sentence for c in pool])
            if self.settings.similarity and pool
            else [None] * len(pool)
        )
        for c, sim in zip(pool, sims, strict=True):
            verdict = guards.check(original, c.sentence, flag.text, sim, (flag.start - lo, flag.end - lo), c.source)
            suggestion = Suggestion(c.start, c.end, c.replacement, c.sentence, lo, c.gain, c.source, c.why, sim)
            if verdict.ok:
                if len(accepted) < self.settings.max_suggestions:
                    accepted.append(suggestion)
            else:
                rejected.append(replace(suggestion, guard=verdict.guard, rejected_because=verdict.why))
        if self.confidence is not None and accepted:
            accepted = self.confidence.rate(flag, accepted, article.text)
        return accepted, rejected

    def _unigram(self, text: str) -> float:
        """Unigram surprisal of the words of a text (punctuation carries no SLOR adjustment)."""
        if self.unigram is None:
            return 0.0
        words = WORD.findall(text)
        return sum(self.unigram.surprisal(i) for w in words for i in self.lm.tokenize(" " + w)[0])

    def _candidates(self, article: Article, flag: Flag, lo: int, hi: int) -> list[Candidate]:
        text = article.text
        out: list[Candidate] = []
        # 1. the fixes that the signals found while detecting (an edit gain's edit, a rule's repair)
        for hit in flag.hits:
            if hit.fix is not None:
                f = hit.fix
                out.append(Candidate(f.start, f.end, f.replacement, f.source, f.why, keeps_words=f.keeps_words))
        span = text[flag.start : flag.end]
        for m in _DOUBLED.finditer(span):
            a, b = flag.start + m.start(), flag.start + m.end()
            out.append(Candidate(a, b, m.group(1), FixSource.RULE, "one full stop instead of two"))
        for m in _BRACKET.finditer(span):
            a, b = flag.start + m.start(), flag.start + m.end()
            out.append(
                Candidate(
                    a,
                    b,
                    " " if m.group().startswith(" ") and m.group().endswith(" ") else "",
                    FixSource.RULE,
                    f"drop the bracketed gloss “{m.group().strip()}”",
                    keeps_words=True,  # a gloss that repeats the sentence's own words loses nothing
                )
            )
        out += article_insertions(text, flag)
        out += self._gec_candidates(article, flag, lo, hi)
        # 2. small edits around the span (LM-Critic): deletions, merges across a full stop, case fixes; at most
        # max_edits_per_flag in all (each costs a rescoring of the rest of its window), singles before pairs
        room = max(0, self.settings.max_edits_per_flag - len(out))
        singles = small_edits(article, flag)[:room]
        out += singles
        room -= len(singles)
        pairs = (
            (x, y) if x.start < y.start else (y, x)
            for x, y in combinations(singles, 2)
            if x.end <= y.start or y.end <= x.start
        )
        for first, second in islice(pairs, room):
            replacement = first.replacement + text[first.end : second.start] + second.replacement
            out.append(Candidate(first.start, second.end, replacement, FixSource.EDIT, f"{first.why}; {second.why}"))
        out += light_verb_edits(article, flag)
        # calque fix combined with the article it needs ("be no start for" -> "be a non-starter for")
        for c in list(out):
            if c.source == FixSource.RULE and c.replacement.lower().startswith("a "):
                before = text[max(lo, c.start - 4) : c.start]
                if before.lower().endswith("no "):
                    out.append(Candidate(c.start - 3, c.end, c.replacement, FixSource.RULE, c.why))
        return [c for c in out if lo <= c.start <= c.end <= hi]

    def _gec_candidates(self, article: Article, flag: Flag, lo: int, hi: int) -> list[Candidate]:
        """The grammar libraries' edits of the flag's sentence that touch the flag (each alternative of each, up to
        three), and the tagger's whole reading of the sentence where it makes several edits there."""
        window = article.text[lo:hi]
        start, end = flag.start - lo, _edit_end(article, flag) - lo
        out: list[Candidate] = []
        for tool in self.gec_tools:
            touching = []
            for group in tool.proposals(window):
                touching += [edit for edit in group[:3] if touches(edit, start, end)]
            for a, b, r in touching:
                what = f"“{window[a:b]}” -> “{r.strip()}”" if a < b else f"insert “{r.strip()}”"
                out.append(Candidate(lo + a, lo + b, r, FixSource.GEC, f"{tool.name}: {what}"))
            if len(touching) > 1 and tool.name == QuireTagger.name:  # the tagger's edits make one reading
                a, b = min(e[0] for e in touching), max(e[1] for e in touching)
                whole = apply_edits(window, touching)
                reading = whole[a : b + len(whole) - len(window)]
                out.append(Candidate(lo + a, lo + b, reading, FixSource.GEC, f"{tool.name}: its {len(touching)} edits"))
        return out


def small_edits(article: Article, flag: Flag) -> list[Candidate]:
    """Small edits in and just after a flag (LM-Critic): delete a word; lower-case a capitalised word no name keeps,
    or put the full stop it lost before it; remove a full stop inside a sentence, with the repeated subject
    after it."""
    text = article.text
    tokens = list(TOKEN.finditer(text, flag.start, _edit_end(article, flag)))
    if len(tokens) > MAX_EDITED_TOKENS:
        return []  # a garble this long (a loop, a run-on) is no small edit's to repair; its rules' fixes stay
    out: list[Candidate] = []
    sentence_starts = {seg.start for seg in article.segments}  # a sentence's first word keeps its capital
    for i, m in enumerate(tokens):
        word = m.group()
        a, b = m.start(), m.end()
        if word[0].isalnum():
            lead = a > 0 and text[a - 1] == " "
            out.append(Candidate(a - 1 if lead else a, b, "", FixSource.EDIT, f"delete “{word}”"))
            if a not in sentence_starts and word[0].isupper() and word != "I" and not keeps_capital(word):
                out.append(Candidate(a, b, word.lower(), FixSource.EDIT, f"lower-case “{word}”"))
                if a >= 2 and text[a - 1] == " " and text[a - 2].isalnum():
                    # or the full stop before it was lost ("by Barcelona And those include" once had one); the
                    # span takes the word too, so that no pair lower-cases it after the stop
                    why = f"a full stop before “{word}”: the sentence ended there"
                    out.append(Candidate(a - 1, b, ". " + word, FixSource.EDIT, why))
        elif word in ".!?" and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            following = nxt.group()
            keep = following if keeps_capital(following) else following.lower()
            before = tokens[i - 1].group() if i > 0 else ""
            for sep in joins(before, keep):
                why = "remove the full stop inside the sentence" + (" (a comma instead)" if "," in sep else "")
                out.append(Candidate(a, nxt.end(), sep + keep, FixSource.EDIT, why))
            if following in PRONOUNS:
                out.append(
                    Candidate(
                        a,
                        nxt.end(),
                        "",
                        FixSource.EDIT,
                        f"remove the full stop and the repeated subject “{following}”",
                    )
                )
    return out


def light_verb_edits(article: Article, flag: Flag) -> list[Candidate]:
    """Another light verb in the same form for each light verb of the flag that is no auxiliary ("have been
    having place" -> "taking place"; not "had been", "did not"), where only the model's signals flagged the span:
    a rule's flag names its fault (a boundary, a capital), and there "It also does. something" -> "makes
    something" changed a verb that was right (training talks). Never paired with other edits: each pair costs a
    rescoring, and a calque's verb is its one fault."""
    if any(h.code not in MODEL_EVIDENCE for h in flag.hits):
        return []
    text = article.text
    out: list[Candidate] = []
    for m in WORD.finditer(text, flag.start, flag.end):
        word = m.group()
        after = TOKEN.search(text, m.end())  # the word after, inside the flag or not
        if after is None or not after.group()[0].isalpha() or after.group().lower() in _AUXILIARY_NEXT:
            continue
        for verb in light_verb_swaps(word):
            out.append(Candidate(m.start(), m.end(), verb, FixSource.EDIT, f"“{verb}” for “{word}”: the idiom's verb"))
    return out


def charged_words(removed: str, replacement: str) -> tuple[list[str], list[str]]:
    """The words an edit removes and those it adds, less the words it only changes the case of."""
    gone, added = WORD.findall(removed), WORD.findall(replacement)
    for word in list(gone):
        twin = next((w for w in added if w.lower() == word.lower()), None)
        if twin is not None:
            gone.remove(word)
            added.remove(twin)
    return gone, added


def article_insertions(text: str, flag: Flag) -> list[Candidate]:
    """Where the detector found that an article was dropped ("warned second wave" -> "the second wave"), each
    article: its insertion tries the model's likeliest article only, and the other may be the one the sentence
    had ("warned a second wave"). Offering articles before every flagged word was tried: on the training talks it
    gave confident "is trust" -> "is a trust" suggestions to human sentences."""
    out = []
    for hit in flag.hits:
        fix = hit.fix
        if fix is None or not _inserts_article(text, fix.start, fix.end, fix.replacement):
            continue
        word = text[fix.start : fix.end]
        for art in ("the", indefinite_article(word)):
            out.append(
                Candidate(fix.start, fix.end, f"{art} {word}", FixSource.EDIT, f"insert “{art}” before “{word}”")
            )
    return out


def _inserts_article(text: str, start: int, end: int, replacement: str) -> bool:
    head, _, rest = replacement.partition(" ")
    return head in ARTICLES and rest == text[start:end]


def _only_repeats(removed: str, sentence: str) -> bool:
    """Every word of `removed` is still in `sentence`."""
    kept = {w.lower() for w in WORD.findall(sentence)}
    return all(w.lower() in kept for w in WORD.findall(removed))


def _edit_end(article: Article, flag: Flag) -> int:
    """Where edits may reach: a flag that ends its sentence may continue into the next sentence of the
    paragraph by one word, since a false full stop ("NATO He will. They no longer") is repaired there."""
    for seg in article.segments:
        if seg.scored and seg.start < flag.end <= seg.end:
            if flag.end < seg.end - 1:
                return flag.end
            following = [s for s in article.segments if s.start >= seg.end and s.scored]
            if following and following[0].paragraph == seg.paragraph:
                m = TOKEN.search(article.text, following[0].start, following[0].end)
                return m.end() if m else flag.end
            return flag.end
    return flag.end


def _window(article: Article, start: int, end: int) -> tuple[int, int, str]:
    """The sentence(s) a flag touches, and the previous sentence of the same paragraph as context."""
    sentences = [s for s in article.segments if s.scored]
    touched = [i for i, s in enumerate(sentences) if s.start < end and s.end > start]
    if not touched:
        return start, end, ""
    first, last = sentences[touched[0]], sentences[touched[-1]]
    context = ""
    if touched[0] > 0 and sentences[touched[0] - 1].paragraph == first.paragraph:
        prev = sentences[touched[0] - 1]
        context = article.text[prev.start : prev.end] + " "
    return min(first.start, start), max(last.end, end), context


def sureness(flag: Flag, suggestion: Suggestion) -> float:
    """How sure a suggestion is: its own confidence, or its flag's where no suggestion model ships."""
    return suggestion.confidence if suggestion.confidence is not None else flag.confidence


def apply_top(text: str, flags: list[Flag], min_confidence: float = 0.5) -> tuple[str, int]:
    """The text with the top suggestion of every flag sure to min_confidence or more applied (later flags first,
    overlapping suggestions skipped). For measuring corrections; mtcheck never rewrites an article itself."""
    chosen = [f.suggestions[0] for f in flags if f.suggestions and sureness(f, f.suggestions[0]) >= min_confidence]
    chosen.sort(key=lambda s: s.start, reverse=True)
    applied, floor = 0, len(text) + 1
    for s in chosen:
        if s.end <= floor:
            text = text[: s.start] + s.replacement + text[s.end :]
            floor = s.start
            applied += 1
    return text, applied
