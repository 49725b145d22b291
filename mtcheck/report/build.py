"""The typed `Report` of one article from the stages' outputs (docs/report-schema.md)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from mtcheck import __version__
from mtcheck.core.article import Article
from mtcheck.core.codes import SEVERITY_ORDER
from mtcheck.core.report import ArticleInfo, Report, Scores, SegmentScore, WordTags
from mtcheck.core.types import Flag
from mtcheck.detect.detector import Detection
from mtcheck.lm.fluency import Fluency


def build_report(
    article: Article,
    detection: Detection,
    fluency: Fluency,
    model: dict,
    settings: dict,
    flags: list[Flag] | None = None,
    created: str | None = None,
) -> Report:
    """`flags`: the detection's flags as the corrector returned them (with suggestions), if it ran."""
    flags = [replace(f, id=f"f{i + 1}") for i, f in enumerate(detection.flags if flags is None else flags)]
    scored_chars = sum(s.end - s.start for s in article.segments if s.scored) or 1
    counts = {str(sev): sum(1 for f in flags if f.severity == sev) for sev in SEVERITY_ORDER}
    scored_text = " ".join(article.segment_text(s) for s in article.segments if s.scored)
    info = ArticleInfo(
        path=article.path,
        id=article.id,
        title=article.title or _first_segment_text(article, "title"),
        url=article.url,
        format=article.source_format,
        encoding=article.encoding,
        encoding_note=article.encoding_note,
        sha256=article.sha256,
        words=len(re.findall(r"\S+", scored_text)),
        text=article.text,
    )
    scores = Scores(
        fluency=fluency.article,
        mean_surprisal=fluency.mean_surprisal,
        flagged_share=round(_covered_chars(flags) / scored_chars, 4),
        predicted_bad=article_predicted_bad(article, detection),
        flags=len(flags),
        critical=counts["critical"],
        major=counts["major"],
        minor=counts["minor"],
        bad_words_per_sentence=article_bad_words_per_sentence(article, detection),
        bad_words_worst_fifth=article_bad_words_worst_fifth(article, detection),
    )
    segments = tuple(
        SegmentScore(s.start, s.end, s.kind, s.paragraph, f.fluency, f.mean_surprisal, b)
        for s, f, b in zip(article.segments, fluency.segments, detection.segment_bad, strict=True)
    )
    return Report(
        article=info,
        model=model,
        settings=settings,
        scores=scores,
        calibration=fluency.description,
        paragraphs=tuple(fluency.paragraphs),
        segments=segments,
        flags=tuple(flags),
        created=created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        tool={"name": "mtcheck", "version": __version__},
        word_tags=WordTags(
            detection.word_threshold, tuple((a, b, round(p, 4)) for a, b, p, _pooled in detection.word_bad)
        )
        if detection.word_threshold is not None and detection.word_bad
        else None,
    )


def article_predicted_bad(article: Article, detection: Detection) -> float | None:
    """The article's expected share of BAD words: the mean P(BAD) over its words, its headline's aside.

    Over words, not sentences: a short sentence weighs what its words weigh. Headlines aside: telegraphic in any
    English, and the detector never trained on one. Together they ranked the 10 MQM dev systems at 0.84 pairwise
    accuracy, against 0.73 for the mean over sentences with the headline in (docs/results.md, session 24). An
    article that is all headline keeps its headline's mean; a detection without word figures, its sentences' mean."""
    if not detection.word_bad:
        bad = [b for b in detection.segment_bad if b is not None]
        return round(sum(bad) / len(bad), 4) if bad else None
    probs = [p for _k, p in _body_words(article, [(a, p) for a, _b, p, _pooled in detection.word_bad])]
    if not probs:
        probs = [p for _a, _b, p, _pooled in detection.word_bad]
    return round(sum(probs) / len(probs), 4) if probs else None


def article_bad_words_per_sentence(article: Article, detection: Detection) -> float | None:
    """The score head's expected words in error per sentence: the sum of its P(error) over the words of the
    article's body sentences (the headline aside), over their number. A count per sentence, as the MQM penalty
    is a count per segment: on the dev articles the expected count followed the segment penalty at Pearson 0.52
    where the share did at 0.24 (docs/results.md, session 30). None without a score head."""
    counts = _sentence_counts(article, detection)
    return round(sum(counts) / len(counts), 4) if counts else None


WORST_FIFTH = 0.8  # the quantile of the body sentences' expected counts that the gate reads


def article_bad_words_worst_fifth(article: Article, detection: Detection) -> float | None:
    """The score head's expected words in error in the article's worse sentences: the 80th percentile (linear
    between neighbours) of its body sentences' expected counts, the count that a fifth of them reach. The gate
    reads it rather than the mean: a human article's mean is raised by its one or two longest sentences (a
    list, a long quote), MT's errors run through many of its sentences. On the dev articles the gate held 67% of
    the worst MQM quarter with it where it held 56% with the mean, each at a limit that accepts 97% of the human
    articles (docs/results.md, session 32). None without a score head."""
    counts = sorted(_sentence_counts(article, detection))
    if not counts:
        return None
    at = WORST_FIFTH * (len(counts) - 1)
    low = int(at)
    high = min(low + 1, len(counts) - 1)
    return round(counts[low] + (at - low) * (counts[high] - counts[low]), 4)


def _sentence_counts(article: Article, detection: Detection) -> list[float]:
    """The score head's P(error) summed over the words of each body sentence, in reading order (none without a
    score head)."""
    if not detection.word_score:
        return []
    sums: dict[int, float] = {}
    for k, p in _body_words(article, [(a, p) for a, _b, p in detection.word_score]):
        sums[k] = sums.get(k, 0.0) + p
    return [sums[k] for k in sorted(sums)]


def _body_words(article: Article, words: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Of (start, value) per word, those in the article's body (every segment but the headline), as (the body
    segment's index, value), in reading order."""
    body = sorted((s.start, s.end) for s in article.segments if s.kind != "title")
    out, k = [], 0
    for start, value in sorted(words):
        while k < len(body) and body[k][1] <= start:
            k += 1
        if k < len(body) and body[k][0] <= start:
            out.append((k, value))
    return out


def _first_segment_text(article: Article, kind: str) -> str | None:
    for s in article.segments:
        if s.kind == kind:
            return article.segment_text(s)
    return None


def _covered_chars(flags: list[Flag]) -> int:
    covered: set[int] = set()
    for f in flags:
        covered.update(range(f.start, f.end))
    return len(covered)
