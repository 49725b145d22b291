"""The JSONL record of one MT line (`mtcheck check --lines`): its text, scores and flags, no HTML."""

from __future__ import annotations

from mtcheck.core.report import Report


def line_record(report: Report, index: int) -> dict:
    flags = [f.to_json() for f in report.flags]
    return {
        "index": index,
        "text": report.article.text,
        "fluency": line_fluency(report),
        "mean_surprisal": report.scores.mean_surprisal,
        "predicted_bad": report.scores.predicted_bad,
        "flags": [{k: v for k, v in f.items() if k != "id"} for f in flags],
    }


def line_fluency(report: Report) -> float | None:
    """A line's fluency: the mean of its sentences' (a line is scored as one short text)."""
    values = [s.fluency for s in report.segments if s.fluency is not None]
    return round(sum(values) / len(values), 1) if values else None
