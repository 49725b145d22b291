"""Roll token surprisal up to sentence, paragraph and article fluency on the calibrated 0-100 scale."""

from __future__ import annotations

from dataclasses import dataclass

from .calibration import DESCRIPTION, FluencyScale, sentence_statistic
from .document import Article
from .scoring import TokenScore


@dataclass
class Fluency:
    segments: list[dict]  # per segment: fluency, mean_surprisal (None when not scored)
    paragraphs: list[dict]
    article: float | None
    mean_surprisal: float | None
    description: str


class FluencyScorer:
    def __init__(self, model_name: str):
        self.scale = FluencyScale.load(model_name)

    @property
    def calibrated(self) -> bool:
        return self.scale is not None

    def reference_mean(self) -> float:
        """What human reference text scores on average (the article score of the reference itself)."""
        assert self.scale is not None
        values = [self.scale.fluency(q) or 0.0 for q in self.scale.quantiles]
        return sum(values) / len(values)

    def score(self, article: Article, sentence_scores: list[list[TokenScore] | None]) -> Fluency:
        """`sentence_scores[i]` holds the tokens of segment i scored alone (None for unscored segments):
        alone, like the human reference sentences, so that the comparison is fair."""
        per_segment: list[dict] = []
        all_stats: list[float] = []
        surprisal_sum, surprisal_n = 0.0, 0
        for seg, tokens in zip(article.segments, sentence_scores, strict=True):
            values = [t.surprisal for t in tokens or []]
            stat = sentence_statistic(values) if seg.scored and values else None
            if stat is None:
                per_segment.append({"fluency": None, "mean_surprisal": None})
                continue
            surprisal_sum += sum(values)
            surprisal_n += len(values)
            all_stats.append(stat)
            per_segment.append(
                {
                    "fluency": self.scale.fluency(stat) if self.scale else None,
                    "mean_surprisal": round(stat, 3),
                }
            )
        paragraphs = []
        for index, (p_start, p_end) in enumerate(article.paragraphs):
            values = [
                s["fluency"]
                for s, seg in zip(per_segment, article.segments, strict=True)
                if seg.paragraph == index and s["fluency"] is not None
            ]
            paragraphs.append(
                {
                    "start": p_start,
                    "end": p_end,
                    "fluency": round(sum(values) / len(values), 1) if values else None,
                }
            )
        sentence_values = [s["fluency"] for s in per_segment if s["fluency"] is not None]
        article_fluency = round(sum(sentence_values) / len(sentence_values), 1) if sentence_values else None
        return Fluency(
            segments=per_segment,
            paragraphs=paragraphs,
            article=article_fluency,
            mean_surprisal=round(surprisal_sum / surprisal_n, 4) if surprisal_n else None,
            description=(
                DESCRIPTION + " Each sentence is scored alone, as the reference sentences were. "
                "Paragraph and article = mean of their sentences' fluency; human reference text "
                f"averages {self.reference_mean():.0f} on this scale."
            )
            if self.scale
            else "uncalibrated: no reference table for this model (run python -m mtcheck.calibration)",
        )
