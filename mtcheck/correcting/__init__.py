"""Proposed readings for flagged spans: candidates from small edits, MT-artifact rules and a rewrite by the
instruction-tuned model, ranked by the language model's gain over the whole sentence in context, filtered by
meaning guards. Nothing is applied: suggestions are for a person to accept or reject.

Ranking: gain = log P(corrected sentence | previous sentence) - log P(original | previous sentence), minus
the unigram log-probability of the words the edit removes and plus that of the words it adds (SLOR-style),
so that shorter is not automatically better. Candidates of one sentence share the key-value cache of their
common prefix (`LanguageModel.score_edits`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations

from ..detecting import Flag
from ..detecting.rules import FUNCTION_WORDS, PRONOUNS
from ..detecting.rules import TOKEN as _TOKEN
from ..document import Article
from ..scoring import LanguageModel
from ..unigram import UnigramTable
from . import guards
from .rewrite import Rewriter

_WORD = re.compile(r"[\w’'\-]+")
_DOUBLED = re.compile(r"([.,;:!?])(\s+[.,;:])+(?![.\w])")
_BRACKET = re.compile(r"\s?\[[^\[\]\n]{1,80}\]\s?")


@dataclass
class Candidate:
    start: int  # article offsets of the replaced span
    end: int
    replacement: str
    source: str  # edit | rule | rewrite
    why: str
    gain: float = 0.0
    sentence: str = ""
    rejected: str = ""  # guard that rejected it, with the reason


@dataclass
class Settings:
    max_suggestions: int = 5
    max_edits_per_flag: int = 60  # single and paired small edits, the cheapest first
    rewrite: bool = True  # ask the instruction-tuned model for one rewrite per major/critical flag
    min_gain: float = 0.5  # nats: a suggestion must make the sentence more probable
    # Per source, the gain a suggestion needs (default min_gain). See bench/correction_gains.py.
    min_gain_by_source: dict[str, float] = field(default_factory=dict)
    similarity: bool = True  # embedding guard (loads minilm-l6)
    extras: dict = field(default_factory=dict)


class Corrector:
    def __init__(self, lm: LanguageModel, settings: Settings | None = None):
        self.lm = lm
        self.settings = settings or Settings()
        self.unigram = UnigramTable.load(lm.name)
        self._embedder: guards.Embedder | None = None
        self._rewriter: Rewriter | None = None

    def signature(self) -> str:
        s = self.settings
        by_source = "".join(f",{k}:{v}" for k, v in sorted(s.min_gain_by_source.items()))
        return (
            f"corrector:edits{s.max_edits_per_flag}|rewrite:{'yes' if s.rewrite else 'no'}|"
            f"min_gain:{s.min_gain}{by_source}|similarity:{guards.MIN_SIMILARITY if s.similarity else 'off'}"
        )

    @property
    def embedder(self) -> guards.Embedder:
        if self._embedder is None:
            self._embedder = guards.Embedder(self.lm.device)
        return self._embedder

    @property
    def rewriter(self) -> Rewriter:
        if self._rewriter is None:
            self._rewriter = Rewriter(self.lm)
        return self._rewriter

    def suggest(self, article: Article, flags: list[Flag]) -> None:
        """Fill each flag's suggestions (best first) and the candidates its guards rejected."""
        rewrites: dict[int, str | None] = {}
        if self.settings.rewrite:
            wanted = [i for i, f in enumerate(flags) if f.severity in ("major", "critical")]
            windows = [_window(article, flags[i].start, _edit_end(article, flags[i])) for i in wanted]
            texts = [article.text[lo:hi] for lo, hi, _ctx in windows]
            rewrites = dict(zip(wanted, self.rewriter.rewrite_many(texts), strict=True))
        for i, flag in enumerate(flags):
            flag.suggestions, flag.rejected = self._for_flag(article, flag, rewrites.get(i))

    # -- one flag -------------------------------------------------------------------------------------
    def _for_flag(self, article: Article, flag: Flag, rewritten: str | None) -> tuple[list[dict], list[dict]]:
        lo, hi, context = _window(article, flag.start, _edit_end(article, flag))
        if hi <= lo:
            return [], []
        candidates = self._candidates(article, flag, lo, hi)
        if rewritten:
            if rewritten != article.text[lo:hi]:
                candidates.append(
                    Candidate(lo, hi, rewritten, "rewrite", "the instruction-tuned model's rewrite of the sentence")
                )
        unique: dict[str, Candidate] = {}
        original = article.text[lo:hi]
        for c in candidates:
            sentence = article.text[lo : c.start] + c.replacement + article.text[c.end : hi]
            if sentence != original and sentence not in unique:
                c.sentence = sentence
                unique[sentence] = c
        candidates = list(unique.values())
        if not candidates:
            return [], []
        base, scores = self.lm.score_edits(
            context, original, [(c.start - lo, c.end - lo, c.replacement) for c in candidates]
        )
        for c, score in zip(candidates, scores, strict=True):
            removed = article.text[c.start : c.end]
            if c.source == "rule" and not c.replacement and _only_repeats(removed, c.sentence):
                removed = ""  # dropping repeated copies loses no word: no SLOR charge for the words it removes
            c.gain = score - base - (self._unigram(removed) - self._unigram(c.replacement))
        candidates.sort(key=lambda c: -c.gain)
        need = self.settings.min_gain_by_source
        candidates = [c for c in candidates if c.gain >= need.get(c.source, self.settings.min_gain)]
        accepted, rejected = [], []
        pool = candidates[: self.settings.max_suggestions * 3]
        sims = (
            self.embedder.similarities(original, [c.sentence for c in pool])
            if self.settings.similarity and pool
            else [None] * len(pool)
        )
        for c, sim in zip(pool, sims, strict=True):
            verdict = guards.check(original, c.sentence, flag.text, sim, (flag.start - lo, flag.end - lo), c.source)
            record = {
                "start": c.start,
                "end": c.end,
                "replacement": c.replacement,
                "sentence": c.sentence,
                "sentence_start": lo,
                "gain": round(c.gain, 2),
                "source": c.source,
                "why": c.why,
            }
            if sim is not None:
                record["similarity"] = round(sim, 3)
            if verdict.ok:
                if len(accepted) < self.settings.max_suggestions:
                    accepted.append(record)
            else:
                rejected.append({**record, "guard": verdict.guard, "rejected_because": verdict.why})
        return accepted, rejected

    def _unigram(self, text: str) -> float:
        """Unigram surprisal of the words of a text (punctuation carries no SLOR adjustment)."""
        if self.unigram is None:
            return 0.0
        words = _WORD.findall(text)
        return sum(self.unigram.surprisal(i) for w in words for i in self.lm.tokenize(" " + w)[0])

    def _candidates(self, article: Article, flag: Flag, lo: int, hi: int) -> list[Candidate]:
        text = article.text
        out: list[Candidate] = []
        # 1. the edits that the detector itself found (edit gain) and the rules' fixes
        for hit in flag.hits:
            if "edit" in hit.data:
                a, b, r = hit.data["edit"]
                out.append(Candidate(a, b, r, "edit", _describe(text[a:b], r)))
            if hit.code == "calque":
                out.append(
                    Candidate(
                        hit.start,
                        hit.end,
                        _match_case(text[hit.start : hit.end], hit.data["idiom"]),
                        "rule",
                        f"the English idiom for this calque is “{hit.data['idiom']}”",
                    )
                )
            if hit.code == "repeated-phrase":
                first_end = hit.data["first"][1]
                phrase = text[hit.data["first"][0] : first_end]
                out.append(Candidate(first_end, hit.end, "", "rule", f"keep one “{phrase}”, drop its repeats"))
        span = text[flag.start : flag.end]
        for m in _DOUBLED.finditer(span):
            a, b = flag.start + m.start(), flag.start + m.end()
            out.append(Candidate(a, b, m.group(1), "rule", "one full stop instead of two"))
        for m in _BRACKET.finditer(span):
            a, b = flag.start + m.start(), flag.start + m.end()
            out.append(
                Candidate(
                    a,
                    b,
                    " " if m.group().startswith(" ") and m.group().endswith(" ") else "",
                    "rule",
                    f"drop the bracketed gloss “{m.group().strip()}”",
                )
            )
        # 2. small edits around the span (LM-Critic): deletions, merges across a full stop, case fixes
        singles = self._small_edits(article, flag)
        out += singles
        pairs = []
        for x, y in combinations(singles, 2):
            if x.end <= y.start or y.end <= x.start:
                first, second = (x, y) if x.start < y.start else (y, x)
                replacement = first.replacement + text[first.end : second.start] + second.replacement
                pairs.append(Candidate(first.start, second.end, replacement, "edit", f"{first.why}; {second.why}"))
        out += pairs[: max(0, self.settings.max_edits_per_flag - len(out))]
        # calque fix combined with the article it needs ("be no start for" -> "be a non-starter for")
        for c in list(out):
            if c.source == "rule" and c.replacement.lower().startswith("a "):
                before = text[max(lo, c.start - 4) : c.start]
                if before.lower().endswith("no "):
                    out.append(Candidate(c.start - 3, c.end, c.replacement, "rule", c.why))
        return [c for c in out if lo <= c.start <= c.end <= hi]

    def _small_edits(self, article: Article, flag: Flag) -> list[Candidate]:
        text = article.text
        tokens = list(_TOKEN.finditer(text, flag.start, _edit_end(article, flag)))
        out: list[Candidate] = []
        for i, m in enumerate(tokens):
            word = m.group()
            a, b = m.start(), m.end()
            if word[0].isalnum():
                lead = a > 0 and text[a - 1] == " "
                out.append(Candidate(a - 1 if lead else a, b, "", "edit", f"delete “{word}”"))
                if word in FUNCTION_WORDS and i > 0 and word != "I":
                    out.append(Candidate(a, b, word.lower(), "edit", f"lower-case “{word}”"))
            elif word in ".!?" and i + 1 < len(tokens):
                nxt = tokens[i + 1]
                following = nxt.group()
                keep = following if following not in FUNCTION_WORDS else following.lower()
                out.append(Candidate(a, nxt.end(), " " + keep, "edit", "remove the full stop inside the sentence"))
                if following in PRONOUNS:
                    out.append(
                        Candidate(
                            a, nxt.end(), "", "edit", f"remove the full stop and the repeated subject “{following}”"
                        )
                    )
        return out


def _only_repeats(removed: str, sentence: str) -> bool:
    """Every word of `removed` is still in `sentence`."""
    kept = {w.lower() for w in _WORD.findall(sentence)}
    return all(w.lower() in kept for w in _WORD.findall(removed))


def _edit_end(article: Article, flag: Flag) -> int:
    """Where edits may reach: a flag that ends its sentence may continue into the next sentence of the
    paragraph by one word, since a false full stop ("NATO He will. They no longer") is repaired there."""
    for seg in article.segments:
        if seg.scored and seg.start < flag.end <= seg.end:
            if flag.end < seg.end - 1:
                return flag.end
            following = [s for s in article.segments if s.start >= seg.end and s.scored]
            if following and following[0].paragraph == seg.paragraph:
                m = _TOKEN.search(article.text, following[0].start, following[0].end)
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


def _describe(before: str, after: str) -> str:
    if not after.strip():
        return f"delete “{before.strip()}”"
    if before.strip() in ".":
        return "remove the full stop inside the sentence"
    return f"replace “{before.strip()}” with “{after.strip()}”"


def _match_case(original: str, replacement: str) -> str:
    return replacement[0].upper() + replacement[1:] if original[:1].isupper() else replacement


def apply_top(text: str, flags: list[dict], min_confidence: float = 0.5) -> tuple[str, int]:
    """The text with the top suggestion of every flag at or above min_confidence applied (later flags first,
    overlapping suggestions skipped). For measuring corrections; mtcheck never rewrites an article itself."""
    chosen = []
    for flag in flags:
        if flag["confidence"] >= min_confidence and flag.get("suggestions"):
            chosen.append(flag["suggestions"][0])
    chosen.sort(key=lambda s: s["start"], reverse=True)
    applied, floor = 0, len(text) + 1
    for s in chosen:
        if s["end"] <= floor:
            text = text[: s["start"]] + s["replacement"] + text[s["end"] :]
            floor = s["start"]
            applied += 1
    return text, applied
