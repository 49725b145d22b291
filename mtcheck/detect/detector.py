"""Detection: the rules' hits, the language model's edit gains and the learned tagger's word ratings, combined
into flagged spans with a severity (`severity.py`) and a calibrated confidence (`confidence.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mtcheck.core.article import Article
from mtcheck.core.codes import Code, Severity
from mtcheck.core.errors import MtcheckError
from mtcheck.core.metrics import platt as platt_scale
from mtcheck.core.signature import Signature
from mtcheck.core.text import FUNCTION_WORDS
from mtcheck.core.types import Flag, Hit
from mtcheck.detect.article_head import (
    SCORE_HEAD,
    ArticleHead,
    ArticleHeadProfile,
    SentenceInputs,
    article_inputs,
    state_rows,
)
from mtcheck.detect.confidence import ConfidenceMap, curve_for
from mtcheck.detect.profile import DetectorProfile, WeightsFile
from mtcheck.detect.severity import LADDER, HitGroup, combine, severity
from mtcheck.lm.model import LanguageModel
from mtcheck.lm.unigram import UnigramTable
from mtcheck.lm.units import ArticleScores
from mtcheck.signals.editgain import EditGainSettings, LMSignals
from mtcheck.signals.features import word_features, word_spans
from mtcheck.signals.rules import run_rules
from mtcheck.signals.tagger import LMStates, Tagger, TaggerEnsemble

LEARNED_WEIGHT = 1.0
# Reasons that keep a flag on an MT line whatever the learned detector says of its words (see `Detector.detect`).
_KEPT_ON_LINES = {Code.LEARNED, Code.DOUBLED_PUNCTUATION, Code.REPEATED_PHRASE}


@dataclass(frozen=True)
class Detection:
    flags: list[Flag]
    segment_bad: list[float | None]  # per segment: the learned detector's mean P(BAD) over its words
    word_bad: list[tuple[int, int, float, float]] = field(default_factory=list)  # (start, end, P(BAD), pooled)
    word_major: list[tuple[int, int, float]] = field(default_factory=list)  # article head: (start, end, P(major))
    word_threshold: float | None = None  # P(BAD) from which a word is tagged BAD (the report's word tags)
    # the score head (trained also on human-corrected English as clean): (start, end, P(error)) per word
    word_score: list[tuple[int, int, float]] = field(default_factory=list)


@dataclass(frozen=True)
class LineCalibration:
    """How MT lines are read for one source (or none): Platt parameters, threshold, specialist."""

    platt: tuple[float, float]
    threshold: float
    source_lang: str | None  # None: the pooled calibration
    specialist: str | None  # the specialist's sha256 prefix, when one reads this source's lines


class Detector:
    name = "rules+edit-gain+tagger/3"

    def __init__(
        self,
        lm: LanguageModel | None,
        settings: EditGainSettings | None = None,
        source_lang: str | None = None,
        use_article_head: bool = True,
    ):
        """`use_article_head`: articles are rated by the article head where one ships (`article_head.py`); off,
        by the pooled tagger at its article threshold (as before the head; its training reads that way)."""
        self.settings = settings or EditGainSettings()
        self.lm = lm
        self.unigram = UnigramTable.load(lm.name) if lm else None
        self.signals = LMSignals(lm, self.unigram, self.settings) if lm else None
        self.profile = DetectorProfile.for_model(lm.name) if lm else None
        self.learned: Tagger | None = None
        self.line_tagger: Tagger | TaggerEnsemble | None = None
        self.lines: LineCalibration | None = None
        self.confidence_map = ConfidenceMap(None)  # MT lines: per source language, else pooled
        self.article_confidence_map = ConfidenceMap(None)  # whole articles
        self._specialists: dict[str, Tagger | TaggerEnsemble] = {}
        self.article_head: ArticleHead | None = None
        self.score_head: ArticleHead | None = None  # the article's score against human English (article_head.py)
        # the LM layer whose states the article head reads (set by its training, which runs without a head)
        self.article_layer: int | None = None
        if lm is not None and self.profile is not None:
            self.learned = self._tagger(self.profile.weights)
            head = ArticleHeadProfile.for_model(lm.name) if use_article_head else None
            self.article_head = ArticleHead(head, lm.device) if head is not None else None
            self.article_layer = head.layer if head is not None else None
            score = ArticleHeadProfile.for_model(lm.name, SCORE_HEAD) if head is not None else None
            if score is not None and score.layer != self.article_layer:
                raise MtcheckError(f"{score.path}: reads LM layer {score.layer}, the article head {head.layer}")
            self.score_head = ArticleHead(score, lm.device) if score is not None else None
            self.line_tagger = self.learned
            # articles have their own curve (fitted on the dev articles), else the pooled lines' one
            self.article_confidence_map = ConfidenceMap(
                self.profile.article_flag_confidence or curve_for(self.profile.flag_confidence, None)
            )
            self.use_source(source_lang)

    @property
    def tagger_params(self) -> dict:
        """The learned detector's JSON (how it was trained, its calibrations); empty without one."""
        return self.profile.params if self.profile else {}

    @property
    def learned_meta(self) -> dict:
        """The learned detector's settings now in force, as the signature and reports name them."""
        if self.profile is None or self.lines is None:
            return {}
        return {
            "sha256": self.profile.sha256,
            "command": self.profile.command,
            "platt": list(self.lines.platt),
            "threshold": self.lines.threshold,
            "specialist": self.lines.specialist,
            "article_platt": list(self.profile.article_platt),
            "article_threshold": self.profile.article_threshold,
            "source_lang": self.lines.source_lang,
            "flag_confidence": ("calibrated" if self.profile.flag_confidence else "raw")
            + ("/articles" if self.profile.article_flag_confidence else ""),
        }

    def use_source(self, source_lang: str | None) -> None:
        """A known source language has its own calibration and line threshold, chosen on its dev split, and its
        specialist tagger where one was trained (`training/specialise.py`); text of unknown origin uses the
        pooled ones. Articles always use the pooled tagger and its stricter article threshold."""
        if self.profile is None or self.learned is None:
            return
        profile = self.profile
        own = profile.by_source.get(source_lang or "")
        special = own.specialist if own else None
        self.line_tagger = self.learned
        if special and source_lang:
            if source_lang not in self._specialists:
                # a specialist is one tagger or an ensemble of seeds (its members), all of one design
                states = LMStates.from_json(special.lm_states)
                members = [self._tagger(m, states, special.context) for m in special.members]
                self._specialists[source_lang] = members[0] if len(members) == 1 else TaggerEnsemble(members)
            self.line_tagger = self._specialists[source_lang]
        if special:
            platt, threshold = special.platt, special.threshold
        elif own:
            platt, threshold = own.platt, own.threshold
        else:
            platt, threshold = profile.platt, profile.threshold
        self.lines = LineCalibration(
            platt, threshold, source_lang if own else None, special.sha256[:12] if special else None
        )
        self.confidence_map = ConfidenceMap(curve_for(profile.flag_confidence, source_lang))

    def _tagger(self, weights: WeightsFile, states: LMStates | None = None, context: int = 0) -> Tagger:
        assert self.profile is not None and self.lm is not None
        path = weights.verified(self.profile.path.name)
        return Tagger(
            self.profile.params,
            path,
            device=self.lm.device,
            lm_states=states,
            context=context,
            precision=self.lm.precision,
        )

    def signature(self) -> Signature:
        s = self.settings
        meta = self.learned_meta
        unigram = "yes" if self.signals and self.signals.unigram is not None else "no"
        source = (meta.get("source_lang") or "any") + (f"+{meta['specialist']}" if meta.get("specialist") else "")
        return Signature.of(
            ("detector", self.name),
            ("slor", s.candidate_slor),
            ("excess", s.candidate_excess),
            ("cands", s.max_candidates),
            ("subs", s.substitutes),
            ("gain", f"{s.min_gain}/{s.gain_midpoint}/{s.gain_scale}"),
            ("spike", s.spike_slor),
            (
                "fw",
                f"{s.function_swaps}x{s.swap_alternatives}/{s.swap_margin}/{s.article_inserts}/{s.insert_excess}/"
                f"{s.insert_margin}/{s.function_screen_margin}",
            ),
            (
                "verify",
                f"{_model_id(s.verifier)}/{s.verify_gain}"
                + (f"/clause{s.clause_floor}" if s.clause_floor is not None else "")
                if s.verifier
                else "no",
            ),
            *((("horizon", s.horizon),) if s.horizon is not None else ()),
            *((("screen", ",".join(f"{reach}/{margin}" for reach, margin in s.screen)),) if s.screen else ()),
            ("unigram", unigram),
            (
                "tagger",
                f"{meta.get('sha256', 'none')[:12]}@{meta.get('threshold', '-')}/{meta.get('article_threshold', '-')}",
            ),
            ("source", source),
            ("confidence", meta.get("flag_confidence", "raw")),
            *((("article", self.article_head.profile.sha256[:12]),) if self.article_head is not None else ()),
            *((("score", self.score_head.profile.sha256[:12]),) if self.score_head is not None else ()),
            ("severity", LADDER),
        )

    @property
    def state_layers(self) -> tuple[int, ...]:
        """The LM layers whose hidden states the tagger in force reads (kept by the one pass)."""
        tagger = self.line_tagger
        return tagger.lm_states.layers if tagger is not None and tagger.lm_states is not None else ()

    @property
    def pass_layers(self) -> tuple[int, ...]:
        """The layers the one pass keeps: the line tagger's and the article head's."""
        layer = self.article_layer
        return self.state_layers + ((layer,) if layer is not None and layer not in self.state_layers else ())

    def _layers_of(self, raw: np.ndarray, wanted: tuple[int, ...]) -> np.ndarray:
        """The columns of `wanted` layers in word states kept for `pass_layers`."""
        kept = self.pass_layers
        if wanted == kept:
            return raw
        size = raw.shape[1] // len(kept)
        return np.concatenate([raw[:, kept.index(w) * size : (kept.index(w) + 1) * size] for w in wanted], 1)

    def detect(self, article: Article, scores: ArticleScores | None) -> Detection:
        return self.detect_many([article], [scores])[0]

    def detect_many(self, articles: list[Article], scores: list[ArticleScores | None]) -> list[Detection]:
        """Several articles of one pass, each as `detect` would, with the LM rescoring and the tagger batched
        across them (a batch of MT lines costs a few model calls, not a few per line)."""
        hits = [run_rules(a) for a in articles]
        scored = [n for n, s in enumerate(scores) if s is not None and s.tokens]
        if self.signals is not None and scored:
            found = self.signals.hits_many([articles[n] for n in scored], [scores[n] for n in scored])
            for n, more in zip(scored, found, strict=True):
                hits[n] += more
        learned: dict[int, tuple] = {}
        if self.learned is not None and scored:
            learned = self._learned_hits([articles[n] for n in scored], [scores[n] for n in scored], hits, scored)
        out = []
        for n, article in enumerate(articles):
            segment_bad: list[float | None] = [None] * len(article.segments)
            word_bad: list[tuple[int, int, float, float]] = []
            word_major: list[tuple[int, int, float]] = []
            word_score: list[tuple[int, int, float]] = []
            if n in learned:
                learned_hits, segment_bad, word_bad, word_major, word_score = learned[n]
                hits[n] = hits[n] + learned_hits
            cmap = self.confidence_map if article.source_format == "lines" else self.article_confidence_map
            flags = [self._graded(group, word_bad, word_major, cmap) for group in combine(article, hits[n])]
            if n in learned and self.lines is not None and article.source_format == "lines":
                # MT lines: a flag stands when the learned detector agrees (its mean P(BAD) over the span reaches
                # the line threshold), or it is critical, or it is doubled punctuation. The rules and edit gains
                # were built on garbled news; on annotated MT lines their flags that the tagger disagrees with were
                # mostly false alarms (zh news MQM dev: word MCC 0.10 with them, 0.24 without; ro, et, ru gained a
                # little).
                threshold = self.lines.threshold
                flags = [
                    f
                    for f in flags
                    if (f.learned_p or 0.0) >= threshold
                    or f.severity == Severity.CRITICAL
                    or any(h.code in _KEPT_ON_LINES for h in f.hits)
                ]
            out.append(Detection(flags, segment_bad, word_bad, word_major, self.word_threshold(article), word_score))
        return out

    def word_threshold(self, article: Article) -> float | None:
        """The P(BAD) from which the report tags a word BAD: MT lines at the line threshold (chosen on dev for
        word MCC); articles at the article head's word threshold (chosen so too), else at the pooled tagger's
        article threshold."""
        if self.profile is None or self.lines is None:
            return None
        if article.source_format == "lines":
            return self.lines.threshold
        if self.article_head is not None:
            return self.article_head.profile.thresholds.get("word", self.article_head.profile.thresholds["flag"])
        return self.profile.article_threshold

    def _graded(
        self,
        group: HitGroup,
        word_bad: list[tuple[int, int, float, float]],
        word_major: list[tuple[int, int, float]],
        cmap: ConfidenceMap,
    ) -> Flag:
        """A flag: the group with the learned detector's reading of its words, its severity and its confidence
        (`cmap`: the curve for MT lines or for articles)."""
        inside = [(p, q) for a, b, p, q in word_bad if a < group.end and b > group.start]
        learned_p = sum(p for p, _q in inside) / len(inside) if inside else None
        pooled = sum(q for _p, q in inside) / len(inside) if inside else None
        majors = [m for a, b, m in word_major if a < group.end and b > group.start]
        major_p = sum(majors) / len(majors) if majors else None
        ladder = self.article_head.profile.ladder if self.article_head is not None and majors else None
        return Flag(
            group.start,
            group.end,
            group.text,
            severity(group, pooled, major_p, ladder),
            max(0.01, cmap(group.evidence)),
            group.reasons,
            evidence=group.evidence,
            learned_p=learned_p,
            learned_pooled=pooled,
            hits=group.hits,
        )

    def _learned_hits(
        self, articles: list[Article], scores: list[ArticleScores], hits: list[list[Hit]], numbers: list[int]
    ) -> dict[int, tuple]:
        """Runs of words whose calibrated P(BAD) reaches the threshold chosen on dev become hits; per article
        number: (hits, mean P(BAD) per segment, (start, end, P(BAD), pooled P(BAD)) per word, the article head's
        (start, end, P(major)) per word, the score head's (start, end, P(error)) per word).

        MT output lines (line mode) use the threshold that maximises MCC on dev; articles, which are mostly
        well-formed, use the stricter one at which learned flags were right 60% of the time on dev. In articles
        a run of punctuation or capitalised names alone is not flagged: curly quotes, dashes and foreign names
        are rare in the training data and surprise the model for no fault of the translation. MT lines keep
        them: there a mistranslated name or wrong punctuation is an error the annotators mark."""
        assert self.learned is not None and self.profile is not None and self.lines is not None
        todo = self._segment_rows(articles, scores, [hits[n] for n in numbers])
        out: dict[int, tuple] = {numbers[k]: ([], [None] * len(a.segments), [], [], []) for k, a in enumerate(articles)}
        for lines in (False, True):
            mine = [t for t in todo if (articles[t[0]].source_format == "lines") == lines]
            if mine:
                self._learned_runs(articles, scores, numbers, mine, lines, out)
        return out

    def _segment_rows(self, articles: list[Article], scores: list[ArticleScores], hits: list[list[Hit]]) -> list:
        """(article position, segment index, word spans, raw word features) of every scored segment."""
        todo = []
        for k, (article, sc) in enumerate(zip(articles, scores, strict=True)):
            tokens = sc.tokens
            for n, seg in enumerate(article.segments):
                spans = word_spans(article.text, seg.start, seg.end) if seg.scored else []
                mine = [t for t in tokens if t.end > seg.start and t.start < seg.end]
                if spans and mine:
                    feats = word_features(article.text, spans, mine, self.unigram, hits[k])
                    todo.append((k, n, spans, feats))
        return todo

    def article_sentences(self, articles: list[Article], scores: list[ArticleScores]) -> list[list[SentenceInputs]]:
        """What the article head reads of each article's scored sentences (also what its training reads: one
        code for both). The pass must have kept the states of the head's layer (`state_layers`)."""
        assert self.learned is not None and self.article_layer is not None
        hits = [run_rules(a) for a in articles]
        todo = self._segment_rows(articles, scores, hits)
        batch = [(*_encoder_view(articles[k], n, spans), feats) for k, n, spans, feats in todo]
        logits = self.learned.predict(batch)
        out: list[list[SentenceInputs]] = [[] for _a in articles]
        for (k, n, spans, feats), z in zip(todo, logits, strict=True):
            out[k].append(self._sentence_inputs(articles[k], scores[k], n, spans, feats, z))
        return out

    def _sentence_inputs(self, article, sc: ArticleScores, n: int, spans, feats, z) -> SentenceInputs:
        unit = sc.unit_at(article.segments[n].start)
        assert unit is not None
        raw = self._layers_of(sc.word_states(unit, spans), (self.article_layer,))  # type: ignore[arg-type]
        following = np.vstack([raw[1:], np.zeros((1, raw.shape[1]), raw.dtype)])
        return SentenceInputs(spans, np.asarray(z, np.float32), feats, np.concatenate([raw, following], 1))

    def _learned_runs(self, articles, scores, numbers, todo, lines: bool, out: dict) -> None:
        assert self.learned is not None and self.profile is not None and self.lines is not None
        threshold = self.lines.threshold if lines else self.profile.article_threshold
        platt = self.lines.platt if lines else self.profile.article_platt
        batch = [(*_encoder_view(articles[k], n, spans), feats) for k, n, spans, feats in todo]
        tagger = self.line_tagger if lines else self.learned
        assert tagger is not None
        states = None
        if tagger.lm_states is not None:
            # the pass read each unit alone, as training read each line
            states = []
            for k, n, spans, _f in todo:
                seg = articles[k].segments[n]
                unit = scores[k].unit_at(seg.start)
                states.append(
                    self._layers_of(scores[k].word_states(unit, spans), tagger.lm_states.layers)
                    if unit is not None
                    else np.zeros((len(spans), 1))
                )
        logits = tagger.predict(batch, states)
        # severity reads the pooled tagger's scale, whichever tagger flags (see severity.py)
        pooled_logits = logits if tagger is self.learned else self.learned.predict(batch)
        head = self._article_head_probs(articles, scores, todo, pooled_logits) if not lines else None
        if head is not None:
            threshold = self.article_head.profile.thresholds["flag"]  # type: ignore[union-attr]
        for row, ((k, n, spans, _f), z, zp) in enumerate(zip(todo, logits, pooled_logits, strict=True)):
            article = articles[k]
            hits, segment_bad, word_bad, word_major, word_score = out[numbers[k]]
            if head is not None:
                probs, majors, scored = head[row]
                word_major += [(a, b, float(m)) for (a, b), m in zip(spans, majors, strict=True)]
                if scored is not None:
                    word_score += [(a, b, float(q)) for (a, b), q in zip(spans, scored, strict=True)]
            else:
                probs = platt_scale(z, list(platt))
            segment_bad[n] = round(float(probs.mean()), 4)
            pooled = platt_scale(zp, list(self.profile.article_platt))
            word_bad += [(a, b, float(p), float(q)) for (a, b), p, q in zip(spans, probs, pooled, strict=True)]
            run: list[int] = []
            for i in range(len(spans) + 1):
                if i < len(spans) and probs[i] >= threshold:
                    run.append(i)
                    continue
                if run and not lines and not any(_plain_word(article.text[spans[r][0] : spans[r][1]]) for r in run):
                    run = []  # in articles, punctuation or names alone: left to the rules (see the docstring)
                if run:
                    p = float(probs[run].mean())
                    start, end = spans[run[0]][0], spans[run[-1]][1]
                    words = article.text[start:end]
                    if head is not None:
                        message = (
                            f"The article detector rates “{words}” {p:.0%} likely to hold a translation error "
                            "(trained on professionally rated MT of whole documents, it reads the sentence, the "
                            "language model's surprise at these words and how the rest of the article reads)."
                        )
                    else:
                        message = (
                            f"The learned detector rates “{words}” {p:.0%} likely to be mistranslated "
                            "(it reads the whole sentence, and the language model's surprise at these words)."
                        )
                    hits.append(Hit(start, end, Code.LEARNED, message, p, LEARNED_WEIGHT, score=round(p, 3)))
                    run = []

    def _article_head_probs(self, articles, scores, todo, logits) -> list[tuple] | None:
        """Per row of `todo` (segments of articles), the article head's calibrated P(error) and P(major) of its
        words and the score head's P(error) (None without one); None without a head. The heads read each
        article whole (its sentences in order)."""
        if self.article_head is None:
            return None
        by_article: dict[int, list[int]] = {}
        for row, (k, _n, _s, _f) in enumerate(todo):
            by_article.setdefault(k, []).append(row)
        out: list = [None] * len(todo)
        for k, rows in by_article.items():
            sentences = [self._sentence_inputs(articles[k], scores[k], *todo[r][1:], logits[r]) for r in rows]
            inputs, states = article_inputs(articles[k].text, sentences), state_rows(sentences)
            probs = self.article_head.predict(inputs, states)
            score = self.score_head.predict(inputs, states)["error"] if self.score_head is not None else None
            at = 0
            for r, s in zip(rows, sentences, strict=True):
                w = len(s.spans)
                part = slice(at, at + w)
                out[r] = (probs["error"][part], probs["major"][part], score[part] if score is not None else None)
                at += w
        return out


def _model_id(name: str) -> str:
    """A model's name and the first 12 hex digits of its weights' sha256, as the manifest records them."""
    from mtcheck.lm.store import get_spec

    return f"{name}@{(get_spec(name).weights_sha256 or 'unknown')[:12]}"


def _plain_word(word: str) -> bool:
    """A lower-case word (or a capitalised function word), as opposed to punctuation or a name."""
    return word[:1].isalpha() and (word[0].islower() or word in FUNCTION_WORDS)


def _encoder_view(article: Article, n: int, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """What the tagger's encoder reads for segment n: as it was trained, an MT line whole (its words' spans as
    they are); an article's sentence alone, its words' spans made relative to it. (Until 2026-12-03 an article's
    every sentence was read as the article's first 192 word pieces: words past them all read as [CLS].)"""
    if article.source_format == "lines":
        return article.text, spans
    seg = article.segments[n]
    return article.text[seg.start : seg.end], [(a - seg.start, b - seg.start) for a, b in spans]
