"""Detection: rules and language-model evidence combined into flagged spans.

Severity is measured against human English. The old ladder (evidence >= 0.6 is major) gave a major flag to
16% of human-corrected sentences (MLQE-PE dev post-edits, `bench/postedit_flags.py`), so a major flag now also
needs a *strong* signal, one that fires on about 1% of those sentences or fewer:
- the learned detector's mean P(BAD) over the span, on the pooled (source-blind) scale, >= 0.85;
- an edit gain of confidence >= 0.95 (a small edit makes the sentence far more probable);
- an MT-artifact rule (doubled punctuation, a capitalised pronoun or function word in mid-sentence, a bracketed
  gloss, a calque) confirmed by another signal, or one that is a failure by itself (a full stop cutting a
  sentence, untranslated script, a phrase repeated back to back: 95% of the words it covers in the dev and
  train MT of every pair are tagged BAD, and it fires on 10 of some 45,000 post-edits).
critical = evidence >= 0.9 from independent signals of weight >= 3 (e.g. a rule, an edit gain and the learned
detector); major = evidence >= 0.6 with a strong signal; minor = the rest.
Evidence combines the reasons' own confidences as if independent: 1 - prod(1 - c); it ranks flags.
Evidence is mapped to a confidence calibrated on dev (`confidence.py`): the expected share of the span's
words that human annotators would mark as wrong.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from ..document import Article
from ..errors import MtcheckError
from ..scoring import LanguageModel, TokenScore
from ..unigram import UnigramTable
from .features import word_features, word_spans
from .lmsignals import LMSignals, Settings
from .rules import FUNCTION_WORDS, Hit, run_rules
from .tagger import DETECTOR_DIR, LMStates, Tagger, TaggerEnsemble, calibrate

SEVERITIES = ("minor", "major", "critical")
STRONG_LEARNED_P = 0.85  # pooled P(BAD): fires on about 1% of dev post-edits (see the module docstring)
STRONG_EDIT_GAIN = 0.95
ARTIFACT_RULES = {
    "doubled-punctuation",
    "broken-boundary",
    "midsentence-capital",
    "stray-pronoun",
    "bracketed-insertion",
    "untranslated",
    "calque",
    "repeated-phrase",
}
SELF_EVIDENT_RULES = {"broken-boundary", "untranslated", "repeated-phrase"}  # strong without a second signal
# Reasons that describe a whole sentence; merging them with local hits would make flags sentence-long.
_STANDALONE = {"unbalanced-quote"}


@dataclass
class Reason:
    code: str
    message: str


@dataclass
class Flag:
    start: int
    end: int
    text: str
    severity: str
    confidence: float  # calibrated: the expected share of the span's words that are wrong (see confidence.py)
    reasons: list[Reason]
    evidence: float = 0.0  # raw combined evidence of the reasons, 1 - prod(1 - c); ranks flags, sets confidence
    learned_p: float | None = None  # the learned detector's mean calibrated P(BAD) over the span's words
    learned_pooled: float | None = None  # the same on the pooled scale (source-blind), for severity
    hits: list[Hit] = field(default_factory=list, repr=False)  # raw evidence, for the corrections stage
    suggestions: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # candidates a meaning guard refused, with the reason

    def to_json(self, flag_id: str) -> dict:
        return {
            "id": flag_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "severity": self.severity,
            "confidence": round(self.confidence, 3),
            "evidence": round(self.evidence, 3),
            "learned_p": None if self.learned_p is None else round(self.learned_p, 3),
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "suggestions": self.suggestions,
            "rejected_suggestions": self.rejected,
        }


@dataclass
class Detection:
    flags: list[Flag]
    segment_bad: list[float | None]  # per segment: the learned detector's mean P(BAD) over its words
    word_bad: list[tuple[int, int, float, float]] = field(default_factory=list)  # (start, end, P(BAD), pooled)


class Detector:
    name = "rules+edit-gain+tagger/3"

    def __init__(self, lm: LanguageModel | None, settings: Settings | None = None, source_lang: str | None = None):
        self.settings = settings or Settings()
        self.lm = lm
        self.unigram = UnigramTable.load(lm.name) if lm else None
        self.signals = LMSignals(lm, self.unigram, self.settings) if lm else None
        self.learned: Tagger | None = None
        self.learned_meta: dict = {}
        # imported here, not at the top: `python -m mtcheck.detecting.confidence` (the curve fit) would otherwise
        # find its own module already imported by this package and warn
        from .confidence import ConfidenceMap

        self.confidence_map = ConfidenceMap(None)
        self._params: dict = {}
        path = DETECTOR_DIR / f"{lm.name}.json" if lm else None
        if lm is not None and path is not None and path.exists():
            params = json.loads(path.read_text())
            self.learned = _load_tagger(params, params["weights"], params["weights_sha256"], path.name, lm.device)
            self.line_tagger = self.learned
            self._specialists: dict[str, Tagger | TaggerEnsemble] = {}
            self._params = params
            self.learned_meta = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "command": params["command"]}
            self.use_source(source_lang)

    @property
    def tagger_params(self) -> dict:
        """The learned detector's JSON (how it was trained, its calibrations); empty without one."""
        return self._params

    def use_source(self, source_lang: str | None) -> None:
        """A known source language has its own calibration and line threshold, chosen on its dev split, and its
        specialist tagger where one was trained (`specialise.py`); text of unknown origin uses the pooled ones.
        Articles always use the pooled tagger and its stricter article threshold."""
        if self.learned is None:
            return
        params = self._params
        own = params.get("by_source", {}).get(source_lang or "")
        special = own.get("specialist") if own else None
        self.line_tagger = self.learned
        if special and source_lang:
            if source_lang not in self._specialists:
                # a specialist is one tagger or an ensemble of seeds (its "members"), all of one design
                members = [
                    _load_tagger(
                        params,
                        member["weights"],
                        member["weights_sha256"],
                        f"{self.lm.name}.json",
                        self.lm.device,
                        LMStates.from_json(special.get("lm_states")),
                        int(special.get("context", 0)),
                    )
                    for member in special.get("members", [special])
                ]
                self._specialists[source_lang] = members[0] if len(members) == 1 else TaggerEnsemble(members)
            self.line_tagger = self._specialists[source_lang]
        calibration = special or own
        self.learned_meta.update(
            {
                "platt": calibration["platt"] if calibration else params["platt"],
                "threshold": calibration["threshold"] if calibration else params["threshold"],
                "specialist": special["weights_sha256"][:12] if special else None,
                "article_platt": params["platt"],
                "article_threshold": params["article_threshold"],
                "source_lang": source_lang if own else None,
            }
        )
        from .confidence import ConfidenceMap, curve_for  # see __init__

        curves = params.get("flag_confidence", {})
        self.confidence_map = ConfidenceMap(curve_for(curves, source_lang))
        self.learned_meta["flag_confidence"] = "calibrated" if curves else "raw"

    def signature(self) -> str:
        s = self.settings
        unigram = "yes" if self.signals and self.signals.unigram is not None else "no"
        return (
            f"detector:{self.name}|slor:{s.candidate_slor}|excess:{s.candidate_excess}|"
            f"cands:{s.max_candidates}|subs:{s.substitutes}|gain:{s.min_gain}/{s.gain_midpoint}/{s.gain_scale}|"
            f"spike:{s.spike_slor}|"
            f"unigram:{unigram}|tagger:{self.learned_meta.get('sha256', 'none')[:12]}"
            f"@{self.learned_meta.get('threshold', '-')}/{self.learned_meta.get('article_threshold', '-')}"
            f"|source:{self.learned_meta.get('source_lang') or 'any'}"
            f"{'+' + self.learned_meta['specialist'] if self.learned_meta.get('specialist') else ''}"
            f"|confidence:{self.learned_meta.get('flag_confidence', 'raw')}"
            f"|severity:strong-p{STRONG_LEARNED_P}/gain{STRONG_EDIT_GAIN}"
        )

    def detect(self, article: Article, tokens: list[TokenScore]) -> Detection:
        hits = run_rules(article)
        segment_bad: list[float | None] = [None] * len(article.segments)
        word_bad: list[tuple[int, int, float, float]] = []
        if self.signals is not None and tokens:
            hits += self.signals.hits(article, tokens)
        if self.learned is not None and tokens:
            learned_hits, segment_bad, word_bad = self._learned_hits(article, tokens, hits)
            hits += learned_hits
        flags = combine(article, hits)
        for flag in flags:
            inside = [(p, q) for a, b, p, q in word_bad if a < flag.end and b > flag.start]
            if inside:
                flag.learned_p = sum(p for p, _q in inside) / len(inside)
                flag.learned_pooled = sum(q for _p, q in inside) / len(inside)
            flag.severity = severity(flag)
            flag.confidence = max(0.01, self.confidence_map(flag.evidence))
        if self.learned is not None and tokens and article.source_format == "lines":
            # MT lines: a flag stands when the learned detector agrees (its mean P(BAD) over the span reaches the
            # line threshold), or it is critical, or it is doubled punctuation. The rules and edit gains were
            # built on garbled news; on annotated MT lines their flags that the tagger disagrees with were mostly
            # false alarms (zh news MQM dev: word MCC 0.10 with them, 0.24 without; ro, et, ru gained a little).
            threshold = self.learned_meta["threshold"]
            flags = [f for f in flags if (f.learned_p or 0.0) >= threshold or f.severity == "critical" or _kept(f)]
        return Detection(flags, segment_bad, word_bad)

    def _learned_hits(self, article: Article, tokens: list[TokenScore], rule_hits: list[Hit]):
        """Runs of words whose calibrated P(BAD) reaches the threshold chosen on dev become hits.

        MT output lines (line mode) use the threshold that maximises MCC on dev; articles, which are mostly
        well-formed, use the stricter one at which learned flags were right 60% of the time on dev. In articles
        a run of punctuation or capitalised names alone is not flagged: curly quotes, dashes and foreign names
        are rare in the training data and surprise the model for no fault of the translation. MT lines keep
        them: there a mistranslated name or wrong punctuation is an error the annotators mark."""
        assert self.learned is not None
        lines = article.source_format == "lines"
        meta = self.learned_meta
        threshold = meta["threshold" if lines else "article_threshold"]
        platt = meta["platt" if lines else "article_platt"]
        hits: list[Hit] = []
        segment_bad: list[float | None] = [None] * len(article.segments)
        word_bad: list[tuple[int, int, float, float]] = []
        todo = []  # (segment index, word spans, features)
        for n, seg in enumerate(article.segments):
            spans = word_spans(article.text, seg.start, seg.end) if seg.scored else []
            mine = [t for t in tokens if t.end > seg.start and t.start < seg.end]
            if spans and mine:
                todo.append((n, spans, word_features(article.text, spans, mine, self.unigram, rule_hits)))
        batch = [(article.text, spans, feats) for _n, spans, feats in todo]
        tagger = self.line_tagger if lines else self.learned
        states = None
        if tagger.lm_states is not None and self.lm is not None:
            # read each sentence alone, as in training
            segs = [article.segments[n] for n, _s, _f in todo]
            states = self.lm.word_states(
                [article.text[g.start : g.end] for g in segs],
                [[(a - g.start, b - g.start) for a, b in spans] for g, (_n, spans, _f) in zip(segs, todo, strict=True)],
                tagger.lm_states.layers,
            )
        logits = tagger.predict(batch, states)
        # severity reads the pooled tagger's scale, whichever tagger flags (see the module docstring)
        pooled_logits = logits if tagger is self.learned else self.learned.predict(batch)
        for (n, spans, _f), z, zp in zip(todo, logits, pooled_logits, strict=True):
            probs = calibrate(z, platt)
            segment_bad[n] = round(float(probs.mean()), 4)
            pooled = calibrate(zp, meta["article_platt"])
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
                    hits.append(
                        Hit(
                            start,
                            end,
                            "learned",
                            f"The learned detector rates “{words}” {p:.0%} likely to be mistranslated "
                            "(it reads the whole sentence, and the language model's surprise at these words).",
                            p,
                            1.0,
                            {"p": round(p, 3)},
                        )
                    )
                    run = []
        return hits, segment_bad, word_bad


def _load_tagger(
    params: dict,
    name: str,
    sha256: str,
    owner: str,
    device: str,
    lm_states: LMStates | None = None,
    context: int = 0,
) -> Tagger:
    weights = DETECTOR_DIR / name
    digest = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.exists() else "missing"
    if digest != sha256:
        raise MtcheckError(f"{weights}: detector weights do not match the sha256 recorded in {owner}")
    return Tagger(params, weights, device=device, lm_states=lm_states, context=context)


def _kept(flag: Flag) -> bool:
    """Reasons that keep a flag on an MT line whatever the learned detector says of its words."""
    return any(h.code in ("learned", "doubled-punctuation", "repeated-phrase") for h in flag.hits)


def _plain_word(word: str) -> bool:
    """A lower-case word (or a capitalised function word), as opposed to punctuation or a name."""
    return word[:1].isalpha() and (word[0].islower() or word in FUNCTION_WORDS)


def combine(article: Article, hits: list[Hit]) -> list[Flag]:
    """Merge overlapping hits (within a paragraph) into flags; grade each flag."""
    groups: list[list[Hit]] = []
    for hit in sorted((h for h in hits if h.code not in _STANDALONE), key=lambda h: (h.start, h.end)):
        if groups and hit.start < max(h.end for h in groups[-1]) and _same_paragraph(article, groups[-1][0], hit):
            groups[-1].append(hit)
        else:
            groups.append([hit])
    groups += [[h] for h in hits if h.code in _STANDALONE]
    flags = [_grade(article, group) for group in groups]
    flags.sort(key=lambda f: (f.start, f.end))
    return flags


def _same_paragraph(article: Article, a: Hit, b: Hit) -> bool:
    for p_start, p_end in article.paragraphs:
        if p_start <= a.start < p_end:
            return p_start <= b.start < p_end
    return False


def _grade(article: Article, group: list[Hit]) -> Flag:
    start, end = min(h.start for h in group), max(h.end for h in group)
    by_code = _strongest_by_code(group)
    miss = 1.0
    for h in by_code.values():
        miss *= 1.0 - h.confidence
    confidence = 1.0 - miss
    reasons = [Reason(h.code, h.message) for h in sorted(by_code.values(), key=lambda h: -h.confidence)]
    text = article.text[start:end]
    # severity waits for the learned detector's scores of the span: `Detector.detect` sets it
    return Flag(start, end, text, "minor", confidence, reasons, evidence=confidence, hits=list(group))


def _strongest_by_code(hits: list[Hit]) -> dict[str, Hit]:
    """One hit per reason code, the most confident: repeated hits of one signal are not independent evidence."""
    by_code: dict[str, Hit] = {}
    for h in hits:
        if h.code not in by_code or h.confidence > by_code[h.code].confidence:
            by_code[h.code] = h
    return by_code


def severity(flag: Flag) -> str:
    """critical / major / minor (see the module docstring)."""
    by_code = _strongest_by_code(flag.hits)
    if flag.evidence >= 0.9 and sum(h.weight for h in by_code.values()) >= 3.0:
        return "critical"
    rules = set(by_code) & ARTIFACT_RULES
    strong = (
        (flag.learned_pooled is not None and flag.learned_pooled >= STRONG_LEARNED_P)
        or ("edit-gain" in by_code and by_code["edit-gain"].confidence >= STRONG_EDIT_GAIN)
        or bool(rules & SELF_EVIDENT_RULES)
        or bool(rules and len(by_code) >= 2)
    )
    return "major" if flag.evidence >= 0.6 and strong else "minor"
