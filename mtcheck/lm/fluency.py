"""Fluency 0-100, calibrated on human-written English: token surprisal rolled up to sentence, paragraph and
article scores.

The reference is human-corrected English: the post-edits of the MLQE-PE training files (five language
pairs). Each reference sentence is scored alone by the model; a sentence's statistic is its mean token
surprisal after the first token. Fluency of any text = 100 x (2 x share of reference sentences at least as
surprising), capped at 100: a score of 100 means "reads at least as well as the median human sentence",
50 means "as surprising as the human sentence at the 75th percentile", 10 means "only 5% of human
sentences are this surprising".

Build the table (once per model, about 3 minutes on 2 cores):
    python -m mtcheck.training.fluency_reference --model smollm2-135m
"""

from __future__ import annotations

import bisect
import functools
import json
from dataclasses import dataclass

from mtcheck.core.article import Article
from mtcheck.core.report import ParagraphScore
from mtcheck.core.types import TokenScore
from mtcheck.models import CALIBRATION_DIR

DESCRIPTION = (
    "Fluency 100 = at least as fluent (by mean token surprisal) as the median human-corrected sentence of "
    "MLQE-PE; below that, 2 x the share of human sentences at least as surprising (50 = 75th percentile of "
    "human sentences, 10 = only 5% of human sentences are as surprising)."
)


def sentence_statistic(surprisals: list[float]) -> float | None:
    """Mean surprisal after the first token (the first token of a text carries no context)."""
    body = surprisals[1:] if len(surprisals) > 1 else surprisals
    if not body:
        return None
    return sum(body) / len(body)


class FluencyScale:
    def __init__(self, quantiles: list[float], meta: dict):
        self.quantiles = quantiles  # sorted reference statistics (subsampled)
        self.meta = meta

    @classmethod
    def load(cls, model_name: str) -> FluencyScale | None:
        path = CALIBRATION_DIR / f"{model_name}.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(data["quantiles"], data["meta"])

    def fluency(self, statistic: float | None) -> float | None:
        if statistic is None:
            return None
        # share of reference sentences whose statistic is >= this one
        at_least = 1.0 - bisect.bisect_left(self.quantiles, statistic) / len(self.quantiles)
        return round(min(100.0, 200.0 * at_least), 1)


@dataclass(frozen=True)
class SegmentFluency:
    fluency: float | None  # None: not scored (boilerplate, a byline) or no reference table
    mean_surprisal: float | None


@dataclass(frozen=True)
class Fluency:
    segments: list[SegmentFluency]  # one per segment of the article
    paragraphs: list[ParagraphScore]
    article: float | None
    mean_surprisal: float | None
    description: str


class FluencyScorer:
    def __init__(self, model_name: str):
        self.scale = FluencyScale.load(model_name)

    @property
    def calibrated(self) -> bool:
        return self.scale is not None

    @functools.cached_property
    def reference_mean(self) -> float:
        """What human reference text scores on average (the article score of the reference itself); computed
        once (3,000 reference statistics: it cost a tenth of a check of MT lines, recomputed per line)."""
        assert self.scale is not None
        values = [self.scale.fluency(q) or 0.0 for q in self.scale.quantiles]
        return sum(values) / len(values)

    def score(self, article: Article, sentence_scores: list[list[TokenScore] | None]) -> Fluency:
        """`sentence_scores[i]` holds the tokens of segment i scored alone (None for unscored segments):
        alone, like the human reference sentences, so that the comparison is fair."""
        per_segment: list[SegmentFluency] = []
        all_stats: list[float] = []
        surprisal_sum, surprisal_n = 0.0, 0
        for seg, tokens in zip(article.segments, sentence_scores, strict=True):
            values = [t.surprisal for t in tokens or []]
            stat = sentence_statistic(values) if seg.scored and values else None
            if stat is None:
                per_segment.append(SegmentFluency(None, None))
                continue
            surprisal_sum += sum(values)
            surprisal_n += len(values)
            all_stats.append(stat)
            per_segment.append(SegmentFluency(self.scale.fluency(stat) if self.scale else None, round(stat, 3)))
        paragraphs = []
        for index, (p_start, p_end) in enumerate(article.paragraphs):
            values = [
                s.fluency
                for s, seg in zip(per_segment, article.segments, strict=True)
                if seg.paragraph == index and s.fluency is not None
            ]
            paragraphs.append(ParagraphScore(p_start, p_end, round(sum(values) / len(values), 1) if values else None))
        sentence_values = [s.fluency for s in per_segment if s.fluency is not None]
        article_fluency = round(sum(sentence_values) / len(sentence_values), 1) if sentence_values else None
        return Fluency(
            segments=per_segment,
            paragraphs=paragraphs,
            article=article_fluency,
            mean_surprisal=round(surprisal_sum / surprisal_n, 4) if surprisal_n else None,
            description=(
                DESCRIPTION + " Each sentence is scored alone, as the reference sentences were. "
                "Paragraph and article = mean of their sentences' fluency; human reference text "
                f"averages {self.reference_mean:.0f} on this scale."
            )
            if self.scale
            else "uncalibrated: no reference table for this model (run python -m mtcheck.training.fluency_reference)",
        )
