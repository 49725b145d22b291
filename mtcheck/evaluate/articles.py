"""Measure mtcheck on whole annotated news articles (`../shared/eval/articles/` format), through the same code
path as `check` and `gate`: each article read whole, in article context, its source language unknown unless
given; the gate's default policy decides each one.

What it prints (in the spirit of WMT metrics and QE evaluation):
- word level (MQM articles): a word is BAD when a rater's span covers it; MCC of flagged words against major
  errors, all errors and fluency/style errors only (`Fluency/*`, `Style/*`: what English alone can show);
  precision (the share of flags on a rater's error) and recall (the share of error words flagged) of major and
  critical flags and of all flags;
- segment level: Pearson of each MQM segment's predicted badness with its MQM penalty: the mean P(BAD) of its
  words, its expected count of BAD words (their sum: the penalty is a sum over errors, so it grows with the
  segment), the share of its words flagged, and the segment's length alone (the baseline a count must beat);
- system level: the MT systems ranked by mean article badness against their mean MQM penalty (Spearman, and
  pairwise accuracy over all pairs of systems);
- article level: the gate's decisions per quarter of MQM penalty; for human-written articles the share with a
  major or critical flag and the share accepted; AUC of human against MT translations of the same documents;
- speed: seconds per 1,000 words;
- what the labels allow (MQM files that name their raters): the share of major-error words under a fluency or
  style error (the rest are errors of meaning, which English alone cannot show), and the human ceiling: one
  rater's words against the other raters' union, beside mtcheck's word tags against the same labels.

The computation (`article_metrics`) is a pure function of the annotated articles and what mtcheck said of them
(`ArticleOutcome`), so it is tested on hand-made articles with known answers.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mtcheck.core.article import Article
from mtcheck.core.codes import Severity
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.metrics import expected_calibration_error, mcc, pearson, spearman
from mtcheck.core.report import Report
from mtcheck.core.text import WORD

# article scores ranked against MQM: higher is worse (fluency negated); the last two, the score head's (None
# without one): its expected words in error per sentence and in the article's worst fifth of sentences
BADNESS = ("predicted_bad", "fluency", "bad_words_per_sentence", "bad_words_worst_fifth")


@dataclass(frozen=True)
class ErrorSpan:
    start: int
    end: int
    severity: str  # minor | major
    category: str  # MQM category, e.g. Fluency/Grammar
    rater: str = ""  # who marked it (MQM files name each rater)

    @property
    def fluency_or_style(self) -> bool:
        return self.category.startswith(("Fluency/", "Style/"))


# the word labels: a word is BAD for a kind when a rater's span of that kind covers it
KINDS: dict[str, Callable[[ErrorSpan], bool]] = {
    "major": lambda e: e.severity == "major",
    "all": lambda e: True,
    "fluency": lambda e: e.fluency_or_style,
}


@dataclass(frozen=True)
class AnnotatedArticle:
    id: str
    text: str
    doc: str
    who: str  # MT system, refA/refB (professional translation) or original (English-original)
    human: bool
    errors: tuple[ErrorSpan, ...] = ()
    segments: tuple[tuple[int, int, float], ...] = ()  # MQM segments: (start, end, mean penalty per rater)
    segment_raters: tuple[int, ...] = ()  # how many raters rated each segment (0: not said)

    @property
    def rated(self) -> bool:
        return bool(self.segments)

    @property
    def penalty(self) -> float | None:
        """Mean MQM penalty per segment (None when unrated)."""
        return float(np.mean([p for _a, _b, p in self.segments])) if self.segments else None

    def feed_item(self) -> dict:
        """The article as a feed item (`headline_feed_item`)."""
        return headline_feed_item(self.id, self.text)


def read_annotated(item: AnnotatedArticle, where: str, default_id: str) -> Article | InputError:
    """The article as the checker reads it from a feed: its headline as the title (`headline_feed_item`), unless
    the reader would join title and body otherwise than the file does (more than one blank line, spaces at the
    start of the body), where the offsets of the annotations would not hold: then its text whole."""
    from mtcheck.reading import feed_item_article

    article = feed_item_article(item.feed_item(), where, default_id)
    if isinstance(article, Article) and article.text.rstrip() != item.text.rstrip():
        article = feed_item_article({"id": item.id, "text": item.text}, where, default_id)
    return article


def headline_feed_item(item_id: str, text: str) -> dict:
    """An annotated article as a feed would send it: the files put the headline on the first line, before a
    blank line, and a feed sends it as the item's title, which the reader makes the article's title (its text
    comes out as before: title, blank line, body). Read as plain text it would be a sentence of the body, and
    the article's scores, which set the headline aside, would count it (docs/results.md, session 33). Text that
    does not start with a one-line paragraph is sent whole."""
    head, blank, body = text.partition("\n\n")
    if blank and body.strip() and head.strip() and "\n" not in head and " ".join(head.split()) == head:
        return {"id": item_id, "title": head, "text": body}
    return {"id": item_id, "text": text}


@dataclass(frozen=True)
class ArticleOutcome:
    """What mtcheck said of one article."""

    flags: tuple[tuple[int, int, str], ...]  # (start, end, severity)
    word_bad: tuple[tuple[int, int, float], ...]  # (start, end, P(BAD)) per word (else its sentence's mean)
    fluency: float | None
    predicted_bad: float | None
    decision: str  # accept | quarantine | reject
    seconds: float
    bad_words: tuple[tuple[int, int], ...] | None = None  # the report's word tags: words tagged BAD (None: no tags)
    flag_evidence: tuple[float, ...] | None = None  # per flag (the order of `flags`): its raw evidence
    flag_confidence: tuple[float, ...] | None = None  # ... and the calibrated confidence the report shows
    bad_words_per_sentence: float | None = None  # the score head's expected words in error per sentence
    bad_words_worst_fifth: float | None = None  # ... and in the article's worse sentences (80th percentile)


def load_articles(path: Path, limit: int | None = None, docs: int | None = None) -> list[AnnotatedArticle]:
    """The articles of one JSONL file (the first `limit`; with `docs`, every version of the first `docs` documents
    in the order they first appear: the files list one system after another, and a system-level figure needs
    all systems of the same documents); a line that cannot be read is a one-line error naming the file and line."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if limit is not None and len(out) >= limit:
                break
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                errors = tuple(
                    ErrorSpan(
                        int(e["start"]),
                        int(e["end"]),
                        str(e["severity"]).lower(),
                        str(e.get("category", "")),
                        str(e.get("rater", "")),
                    )
                    for e in item.get("errors", [])
                )
                segments = tuple(
                    (int(s["start"]), int(s["end"]), float(s["penalty"])) for s in item.get("segments", [])
                )
                out.append(
                    AnnotatedArticle(
                        str(item["id"]),
                        str(item["text"]),
                        str(item.get("doc", item["id"])),
                        str(item.get("who", "")),
                        bool(item.get("human", False)),
                        errors,
                        segments,
                        tuple(int(s.get("raters", 0)) for s in item.get("segments", [])),
                    )
                )
            except (ValueError, KeyError, TypeError) as e:
                raise MtcheckError(f"{path}: line {n}: not an annotated article ({type(e).__name__}: {e})") from None
    if docs is not None:
        first = list(dict.fromkeys(a.doc for a in out))[:docs]
        out = [a for a in out if a.doc in set(first)]
    return out


def run_articles(
    checker,
    items: list[AnnotatedArticle],
    decide: Callable[[Report], str],
    source_lang: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[ArticleOutcome]:
    """Each article checked as `gate` checks a feed item (the checker's settings), and decided by `decide` (the
    gate's policy: passed in, the gate being a later stage than this one)."""
    checker.detector.use_source(source_lang)
    out = []
    for n, item in enumerate(items):
        article = read_annotated(item, f"#{n + 1}", str(n))
        if not hasattr(article, "segments"):
            raise MtcheckError(f"article {item.id}: {article}")
        start = time.perf_counter()
        report = checker.check(article)
        seconds = time.perf_counter() - start
        decision = decide(report)
        if report.text.rstrip() != item.text.rstrip():  # trailing whitespace aside, the offsets must hold
            raise MtcheckError(f"article {item.id}: the reader changed its text; offsets would not match")
        out.append(
            ArticleOutcome(
                tuple((f.start, f.end, str(f.severity)) for f in report.flags),
                _word_bad(report),
                report.scores.fluency,
                report.scores.predicted_bad,
                decision,
                seconds,
                tuple(report.word_tags.bad()) if report.word_tags is not None else None,
                tuple(f.evidence for f in report.flags),
                tuple(f.confidence for f in report.flags),
                report.scores.bad_words_per_sentence,
                report.scores.bad_words_worst_fifth,
            )
        )
        if progress:
            progress(1)
    return out


def _word_bad(report) -> tuple[tuple[int, int, float], ...]:
    """Each word's P(BAD): the report's word tags, else each word of a scored segment with the segment's mean."""
    if report.word_tags is not None:
        return report.word_tags.words
    out = []
    for seg in report.segments:
        if seg.predicted_bad is None:
            continue
        for m in WORD.finditer(report.text, seg.start, seg.end):
            out.append((m.start(), m.end(), float(seg.predicted_bad)))
    return tuple(out)


# -- the figures --------------------------------------------------------------------------------------------------
@dataclass
class ArticleMetrics:
    articles: int
    words: int
    rated_articles: int = 0
    bad_share: dict[str, float] = field(default_factory=dict)  # gold BAD share of words: major, all, fluency
    word_mcc: dict[str, float | None] = field(default_factory=dict)  # all flags against major, all, fluency
    word_mcc_major_flags: float | None = None  # major+ flags against major errors
    word_tags_mcc: dict[str, float | None] = field(default_factory=dict)  # words tagged BAD against major, all, fluency
    precision: dict[str, float | None] = field(default_factory=dict)  # major+ and all flags
    recall: dict[str, float | None] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    segment_pearson: dict[str, float | None] = field(default_factory=dict)  # P(BAD), flagged share
    systems: int = 0
    system_spearman: dict[str, float | None] = field(default_factory=dict)
    system_pairwise: dict[str, float | None] = field(default_factory=dict)
    gate_by_quarter: list[dict[str, int]] = field(default_factory=list)
    human_articles: int = 0
    human_major_share: float | None = None
    human_accepted_share: float | None = None
    auc_human_vs_mt: dict[str, float | None] = field(default_factory=dict)
    seconds_per_1k_words: float | None = None
    # what English alone can show: the share of major-error words under a fluency/style major error
    major_fluency_share: float | None = None
    # the human ceiling (`leave_one_rater_out`): one rater against the others, and the word tags against the same
    raters: dict = field(default_factory=dict)
    # the share of major (critical) flags on a rater's major error: what the severity ladder claims
    on_major_error: dict = field(default_factory=dict)
    # flag confidence in rated articles (`flag_calibration`): per flag and per flagged word, against the raters
    flag_calibration: dict = field(default_factory=dict)

    def table(self) -> str:
        def f(x, fmt="{:.3f}"):
            return "-" if x is None else fmt.format(x)

        rows = [("articles / words", f"{self.articles} / {self.words}")]
        if self.rated_articles:
            b = self.bad_share
            rows += [
                (
                    "BAD words: major / all / fluency+style",
                    f"{b['major']:.1%} / {b['all']:.1%} / {b['fluency']:.1%} (of {self.rated_articles} rated)",
                ),
                (
                    "word MCC, all flags: vs major / all / fluency+style",
                    " / ".join(f(self.word_mcc[k]) for k in ("major", "all", "fluency")),
                ),
                ("word MCC, major+ flags vs major errors", f(self.word_mcc_major_flags)),
                (
                    "word MCC, word tags (BAD words): vs major / all / fluency+style",
                    " / ".join(f(self.word_tags_mcc.get(k)) for k in ("major", "all", "fluency")),
                ),
                (
                    "major-error words under a fluency/style major error (what English alone shows)",
                    f(self.major_fluency_share, "{:.1%}"),
                ),
            ]
            r = self.raters
            if r:
                rows += [
                    (
                        "human ceiling, one rater vs the others' union: word MCC vs major / all / fluency+style",
                        " / ".join(f(r["rater_mcc"][k]) for k in KINDS),
                    ),
                    (
                        "word tags vs the same leave-one-rater-out labels: major / all / fluency+style",
                        " / ".join(f(r["tags_mcc"].get(k)) for k in KINDS),
                    ),
                    (
                        "one rater's major spans as flags: precision (on another's error) / recall (others' major)",
                        f"{f(r['rater_major_precision'])} / {f(r['rater_major_recall'])}",
                    ),
                ]
            fc = self.flag_calibration
            if fc:
                rows.append(
                    (
                        "flag confidence: mean / share of its words on an error / ECE per flag / per flagged word",
                        f"{fc['confidence']:.3f} / {fc['on_error']:.3f} / {fc['ece']:.3f} / {f(fc['word_ece'])} "
                        f"({fc['flags']} flags, {fc['words']} words)",
                    )
                )
            rows += [
                (
                    "flags: major+ / all",
                    f"{self.flags['major']} / {self.flags['all']}",
                ),
                (
                    "precision (on a rater's error): major+ / all",
                    f"{f(self.precision['major'])} / {f(self.precision['all'])}",
                ),
                (
                    "on a rater's major error: major flags / critical flags",
                    f"{f(self.on_major_error.get('major'))} / {f(self.on_major_error.get('critical'))} "
                    f"({self.on_major_error.get('flags', {}).get('major', 0)} / "
                    f"{self.on_major_error.get('flags', {}).get('critical', 0)} flags)",
                ),
                (
                    "recall (error words flagged): major+ vs major / all vs all",
                    f"{f(self.recall['major'])} / {f(self.recall['all'])}",
                ),
                (
                    "segment Pearson with MQM penalty: P(BAD) / expected BAD words / flagged share / length alone",
                    " / ".join(
                        f(self.segment_pearson[k]) for k in ("predicted_bad", "expected_bad_words", "flagged", "words")
                    ),
                ),
            ]
            if self.systems >= 2:
                rows += [
                    (
                        f"systems ({self.systems}): Spearman, P(BAD) / fluency / bad words per sentence / in the "
                        "worst fifth",
                        " / ".join(f(self.system_spearman.get(k)) for k in BADNESS),
                    ),
                    (
                        "systems: pairwise accuracy, P(BAD) / fluency / bad words per sentence / in the worst fifth",
                        " / ".join(f(self.system_pairwise.get(k)) for k in BADNESS),
                    ),
                ]
            for q, counts in enumerate(self.gate_by_quarter):
                rows.append(
                    (f"gate, MQM penalty quarter {q + 1} of 4", ", ".join(f"{k} {v}" for k, v in counts.items()))
                )
        if self.human_articles:
            rows += [
                (
                    f"human articles ({self.human_articles}): with a major+ flag / accepted",
                    f"{f(self.human_major_share, '{:.1%}')} / {f(self.human_accepted_share, '{:.1%}')}",
                ),
            ]
        if any(v is not None for v in self.auc_human_vs_mt.values()):
            rows.append(
                (
                    "AUC, MT worse than human (same documents): P(BAD) / fluency / bad words per sentence / in the "
                    "worst fifth / major density",
                    " / ".join(f(self.auc_human_vs_mt[k]) for k in (*BADNESS, "major_density")),
                )
            )
        rows.append(("seconds per 1,000 words", f(self.seconds_per_1k_words, "{:.1f}")))
        width = max(len(k) for k, _v in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _words(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in WORD.finditer(text)]


def _covered(spans: list[tuple[int, int]], by: Iterable[tuple[int, int]]) -> list[bool]:
    by = list(by)
    return [any(a < e and b > s for s, e in by) for a, b in spans]


def _maybe(fn, *args) -> float | None:
    try:
        value = fn(*args)
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _auc(worse: list[float], better: list[float]) -> float | None:
    """P(a score of `worse` exceeds one of `better`), ties counted half."""
    if not worse or not better:
        return None
    w, b = np.asarray(worse)[:, None], np.asarray(better)[None, :]
    return float(((w > b).sum() + 0.5 * (w == b).sum()) / (w.size * b.size))


def _pairwise(x: list[float], y: list[float]) -> float | None:
    """Share of pairs ordered the same way by x and y (pairs tied in y left out)."""
    agree = total = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            if y[i] == y[j]:
                continue
            total += 1
            agree += (x[i] - x[j]) * (y[i] - y[j]) > 0
    return agree / total if total else None


def _badness(outcome: ArticleOutcome, key: str) -> float | None:
    if key == "fluency":
        return None if outcome.fluency is None else -outcome.fluency
    return getattr(outcome, key)


def article_metrics(items: list[AnnotatedArticle], outcomes: list[ArticleOutcome]) -> ArticleMetrics:
    """The figures of the module docstring, from the annotated articles and what mtcheck said of them."""
    words_total = sum(len(_words(it.text)) for it in items)
    seconds = sum(o.seconds for o in outcomes)
    m = ArticleMetrics(
        len(items), words_total, seconds_per_1k_words=1000 * seconds / words_total if words_total else None
    )
    rated = [(it, o) for it, o in zip(items, outcomes, strict=True) if it.rated]
    m.rated_articles = len(rated)
    if rated:
        gold: dict[str, list[bool]] = {"major": [], "all": [], "fluency": []}
        flagged, flagged_major, tagged = [], [], []
        all_tagged = all(o.bad_words is not None for _it, o in rated)
        n_flags = {"major": 0, "all": 0}
        on_error = {"major": 0, "all": 0}
        # the severity ladder's own claim: a major (critical) flag lies on a rater's major error
        graded = {"major": [0, 0], "critical": [0, 0]}  # [flags of that grade, of them on a major error]
        seg_x: dict[str, list[float]] = {"predicted_bad": [], "expected_bad_words": [], "flagged": [], "words": []}
        seg_y: list[float] = []
        fluency_major: list[bool] = []
        word_confidence: list[float] = []  # per word, the highest confidence of a flag over it (0: none)
        flag_points: list[tuple[float, float]] = []  # per flag: its confidence, the share of its words on an error
        tags_by_article: list[list[bool] | None] = []
        for it, o in rated:
            spans = _words(it.text)
            for kind, keep in KINDS.items():
                gold[kind] += _covered(spans, ((e.start, e.end) for e in it.errors if keep(e)))
            on_any = gold["all"][-len(spans) :] if spans else []
            fluency_major += _covered(
                spans, ((e.start, e.end) for e in it.errors if e.severity == "major" and e.fluency_or_style)
            )
            major_flags = [(a, b) for a, b, s in o.flags if Severity(s).at_least(Severity.MAJOR)]
            word_flagged = _covered(spans, ((a, b) for a, b, _s in o.flags))
            if o.flag_confidence is not None:
                shares = flag_error_shares(spans, on_any, ((a, b) for a, b, _s in o.flags))
                flag_points += [(c, sh) for c, sh in zip(o.flag_confidence, shares, strict=True) if sh is not None]
                word_confidence += [
                    max((c for (fa, fb, _s), c in zip(o.flags, o.flag_confidence, strict=True) if a < fb and b > fa),
                        default=0.0)
                    for a, b in spans
                ]  # fmt: skip
            flagged += word_flagged
            tags_by_article.append(_covered(spans, o.bad_words or ()) if all_tagged else None)
            if all_tagged:
                tagged += tags_by_article[-1]
            flagged_major += _covered(spans, major_flags)
            errors = [(e.start, e.end) for e in it.errors]
            majors = [(e.start, e.end) for e in it.errors if e.severity == "major"]
            for a, b, s in o.flags:
                hit = any(a < e and b > st for st, e in errors)
                n_flags["all"] += 1
                on_error["all"] += hit
                if Severity(s).at_least(Severity.MAJOR):
                    n_flags["major"] += 1
                    on_error["major"] += hit
                    grade = "critical" if Severity(s) == Severity.CRITICAL else "major"
                    graded[grade][0] += 1
                    graded[grade][1] += any(a < e and b > st for st, e in majors)
            for start, end, penalty in it.segments:
                inside = [k for k, (a, b) in enumerate(spans) if a >= start and b <= end]
                if not inside:
                    continue
                probs = [p for a, b, p in o.word_bad if a >= start and b <= end]
                seg_x["predicted_bad"].append(float(np.mean(probs)) if probs else 0.0)
                seg_x["expected_bad_words"].append(float(np.sum(probs)))
                seg_x["flagged"].append(float(np.mean([word_flagged[k] for k in inside])))
                seg_x["words"].append(float(len(inside)))
                seg_y.append(penalty)
        m.bad_share = {k: float(np.mean(v)) if v else 0.0 for k, v in gold.items()}
        m.word_mcc = {k: _maybe(mcc, flagged, v) for k, v in gold.items()}
        m.word_mcc_major_flags = _maybe(mcc, flagged_major, gold["major"])
        m.word_tags_mcc = {k: _maybe(mcc, tagged, v) for k, v in gold.items()} if all_tagged else {}
        m.major_fluency_share = _share(fluency_major, gold["major"])
        m.raters = leave_one_rater_out([it for it, _o in rated], tags_by_article)
        if len(word_confidence) == len(gold["all"]):
            m.flag_calibration = flag_calibration(flag_points, word_confidence, gold["all"])
        m.flags = n_flags
        m.precision = {k: on_error[k] / n_flags[k] if n_flags[k] else None for k in n_flags}
        m.on_major_error = {
            "major": graded["major"][1] / graded["major"][0] if graded["major"][0] else None,
            "critical": graded["critical"][1] / graded["critical"][0] if graded["critical"][0] else None,
            "flags": {k: v[0] for k, v in graded.items()},
        }
        m.recall = {
            "major": _share(flagged_major, gold["major"]),
            "all": _share(flagged, gold["all"]),
        }
        m.segment_pearson = {k: _maybe(pearson, v, seg_y) for k, v in seg_x.items()}
        # systems: the MT systems of the rated articles
        by_system: dict[str, list[tuple[AnnotatedArticle, ArticleOutcome]]] = {}
        for it, o in rated:
            if not it.human:
                by_system.setdefault(it.who, []).append((it, o))
        m.systems = len(by_system)
        if m.systems >= 2:
            penalty = [float(np.mean([it.penalty for it, _o in pairs])) for pairs in by_system.values()]
            for key in BADNESS:
                if all(_badness(o, key) is None for _it, o in rated):
                    continue  # no such score (a check without the score head, a cached pass without fluency)
                score = [
                    float(np.mean([b for _it, o in pairs if (b := _badness(o, key)) is not None] or [0.0]))
                    for pairs in by_system.values()
                ]
                m.system_spearman[key] = _maybe(spearman, score, penalty)
                m.system_pairwise[key] = _pairwise(score, penalty)
        # the gate per quarter of the articles' penalty
        ordered = sorted(rated, key=lambda p: p[0].penalty)
        for q in range(4):
            part = ordered[q * len(ordered) // 4 : (q + 1) * len(ordered) // 4]
            counts = {d: sum(1 for _it, o in part if o.decision == d) for d in ("accept", "quarantine", "reject")}
            m.gate_by_quarter.append(counts)
    humans = [(it, o) for it, o in zip(items, outcomes, strict=True) if it.human]
    m.human_articles = len(humans)
    if humans:
        m.human_major_share = float(
            np.mean([any(Severity(s).at_least(Severity.MAJOR) for _a, _b, s in o.flags) for _it, o in humans])
        )
        m.human_accepted_share = float(np.mean([o.decision == "accept" for _it, o in humans]))
    # human against MT of the same documents
    docs_with_human = {it.doc for it, _o in humans}
    pairs = [(it, o) for it, o in zip(items, outcomes, strict=True) if it.doc in docs_with_human]
    for key in (*BADNESS, "major_density"):
        aucs = []
        for doc in sorted(docs_with_human):
            mine = [(it, o) for it, o in pairs if it.doc == doc]
            score = {id(o): _score(it, o, key) for it, o in mine}
            worse = [score[id(o)] for it, o in mine if not it.human and score[id(o)] is not None]
            better = [score[id(o)] for it, o in mine if it.human and score[id(o)] is not None]
            if worse and better:
                aucs.append((_auc(worse, better), len(worse) * len(better)))
        m.auc_human_vs_mt[key] = (
            float(sum(a * w for a, w in aucs) / sum(w for _a, w in aucs)) if aucs else None
        )  # pooled over documents, weighted by their pairs
    return m


def flag_error_shares(
    spans: list[tuple[int, int]], on_error: list[bool], flags: Iterable[tuple[int, int]]
) -> list[float | None]:
    """Per flag (start, end), the share of its words (`spans`, each `on_error` or not) under a rater's error: what
    the flag's confidence claims (None: a flag over no word, a stop alone)."""
    out = []
    for start, end in flags:
        inside = [k for k, (a, b) in enumerate(spans) if a < end and b > start]
        out.append(float(np.mean([on_error[k] for k in inside])) if inside else None)
    return out


def words_on_error(item: AnnotatedArticle) -> tuple[list[tuple[int, int]], list[bool]]:
    """The article's words, as the harness splits them, and whether a rater's span covers each."""
    spans = _words(item.text)
    return spans, _covered(spans, ((e.start, e.end) for e in item.errors))


def flag_calibration(flags: list[tuple[float, float]], word_confidence: list[float], on_error: list[bool]) -> dict:
    """Flag confidence read as the share of a flag's words under a rater's error (what `detect/confidence.py`
    calibrates it to): per flag (`flags`: confidence, observed share; a person reads a flag as one unit), the
    count, mean confidence, mean observed share and expected calibration error (10 bins); and the ECE over the
    flagged words (each word at the highest confidence of a flag over it), where a long flag weighs its words."""
    if not flags:
        return {}
    c, y = np.asarray([f[0] for f in flags], float), np.asarray([f[1] for f in flags], float)
    wc, wy = np.asarray(word_confidence, float), np.asarray(on_error, float)
    flagged = wc > 0
    return {
        "flags": len(flags),
        "confidence": float(c.mean()),
        "on_error": float(y.mean()),
        "ece": expected_calibration_error(c, y),
        "words": int(flagged.sum()),
        "word_ece": expected_calibration_error(wc[flagged], wy[flagged]) if flagged.any() else None,
    }


def leave_one_rater_out(items: list[AnnotatedArticle], tags: list[list[bool] | None]) -> dict:
    """The human ceiling of the word figures: in each article with at least two raters, each rater's words against
    the union of the other raters' words (the label a tool is measured on, less one professional), pooled over
    raters and articles; mtcheck's word tags (`tags`, per article) against the same labels, so that the two
    compare; and one rater's major spans read as major flags: the share on another rater's error and the share
    of the others' major-error words they cover. Only articles whose every segment was rated by several raters
    count (WMT23 news: three raters each; the TED talks: one rater a segment, raters taking turns). Raters are
    known by the spans they marked: one who marked nothing in an article is not seen there."""
    mine_words: dict[str, list[bool]] = {k: [] for k in KINDS}
    others_words: dict[str, list[bool]] = {k: [] for k in KINDS}
    tagged: list[bool] = []
    major_spans = on_error = 0
    for it, article_tags in zip(items, tags, strict=True):
        raters = sorted({e.rater for e in it.errors if e.rater})
        if len(raters) < 2 or not it.segment_raters or min(it.segment_raters) < 2:
            continue
        spans = _words(it.text)
        for rater in raters:
            mine = [e for e in it.errors if e.rater == rater]
            others = [e for e in it.errors if e.rater != rater]
            for kind, keep in KINDS.items():
                mine_words[kind] += _covered(spans, ((e.start, e.end) for e in mine if keep(e)))
                others_words[kind] += _covered(spans, ((e.start, e.end) for e in others if keep(e)))
            if article_tags is not None:
                tagged += article_tags
            for e in mine:
                if e.severity == "major":
                    major_spans += 1
                    on_error += any(e.start < x.end and e.end > x.start for x in others)
    if not mine_words["all"]:
        return {}
    with_tags = len(tagged) == len(others_words["all"])
    return {
        "rater_mcc": {k: _maybe(mcc, mine_words[k], others_words[k]) for k in KINDS},
        "tags_mcc": {k: _maybe(mcc, tagged, others_words[k]) for k in KINDS} if with_tags else {},
        "rater_major_precision": on_error / major_spans if major_spans else None,
        "rater_major_recall": _share(mine_words["major"], others_words["major"]),
    }


def _score(it: AnnotatedArticle, o: ArticleOutcome, key: str) -> float | None:
    if key == "major_density":
        n = len(_words(it.text))
        return 1000 * sum(1 for _a, _b, s in o.flags if Severity(s).at_least(Severity.MAJOR)) / n if n else None
    return _badness(o, key)


def _share(predicted: list[bool], gold: list[bool]) -> float | None:
    positives = sum(gold)
    return sum(p and g for p, g in zip(predicted, gold, strict=True)) / positives if positives else None
