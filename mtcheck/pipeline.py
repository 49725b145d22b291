"""One article through the stages, in one direction: read -> score with the LM -> detect -> correct -> roll up
fluency -> build the report. The one place where the stages meet; every value it passes on is new."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.report import Report
from mtcheck.core.signature import Signature
from mtcheck.correct.corrector import Corrector
from mtcheck.detect.detector import Detector
from mtcheck.lm.fluency import FluencyScorer
from mtcheck.lm.model import LanguageModel
from mtcheck.lm.units import ArticleScores
from mtcheck.reading.formats import iter_inputs, read_articles
from mtcheck.report.build import build_report
from mtcheck.report.writer import ReportWriter


@dataclass(frozen=True)
class Outcome:
    """One input of a `check` run: the summary of the report written for it, or why it failed."""

    path: str
    summary: dict | None = None
    error: str | None = None


def check_inputs(
    items: list[Article | InputError], make_checker: Callable[[], Checker], writer: ReportWriter
) -> Iterator[Outcome]:
    """Check every article read (`iter_articles`) and write its reports; the checker is made only when some input
    was read (a run with nothing to check fails fast, without loading the model). `writer.finish()` is the
    caller's."""
    checker = make_checker() if any(not isinstance(i, InputError) for i in items) else None
    for item in items:
        if isinstance(item, InputError):
            writer.fail(item.path, item.cause)
            yield Outcome(item.path, error=str(item))
            continue
        assert checker is not None
        try:
            report = checker.check(item)
        except MtcheckError as exc:
            writer.fail(item.path, str(exc))
            yield Outcome(item.path, error=f"{item.path}: {exc}")
            continue
        yield Outcome(item.path, summary=writer.write(report))


def check_line_articles(checker: Checker, articles: list[Article], step: int = 64, progress=None) -> list[Report]:
    """MT lines checked in batches of `step` (each line alone); `progress(n)` after each batch."""
    reports: list[Report] = []
    for start in range(0, len(articles), step):
        reports += checker.check_lines(articles[start : start + step])
        if progress:
            progress(min(step, len(articles) - start))
    return reports


def iter_articles(paths: Sequence[str | Path]) -> Iterator[Article | InputError]:
    """Every article under the given paths, or an error per input that could not be read."""
    for item in iter_inputs(paths):
        if isinstance(item, InputError):
            yield item
        else:
            yield from read_articles(item)


class Checker:
    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        corrections: bool = True,
        source_lang: str | None = None,
        precision: str | None = None,
    ):
        self.lm = LanguageModel(model, device=device, precision=precision)
        self.detector = Detector(self.lm, source_lang=source_lang)
        self.fluency = FluencyScorer(self.lm.name)
        self.corrector = Corrector(self.lm) if corrections else None

    def signature(self) -> Signature:
        """Every setting that changes the output (short form in each report's `settings.signature`)."""
        corrector = self.corrector.signature() if self.corrector else Signature.of(("corrector", "off"))
        model = Signature.of(("model", f"{self.lm.name}@{self.lm.sha256[:12]}"), ("precision", self.lm.precision))
        return replace(self.detector.signature() + corrector + model, prefix="mtcheck")

    def settings(self) -> dict:
        return {
            "detector": self.detector.name,
            "signature": self.signature().short(),
            "window": self.lm.window,
            "precision": self.lm.precision,
            "overlap": self.lm.overlap,
            "fluency_calibrated": self.fluency.calibrated,
        }

    def check(self, article: Article) -> Report:
        return self.check_many([article])[0]

    def check_many(self, articles: list[Article]) -> list[Report]:
        """Articles checked together: one LM pass over all their sentences, each read alone (fluency reads
        them so, as the human reference was read, and the tagger was trained on lines read alone), shared by
        detection, fluency and the corrections."""
        segments = [[s for s in a.segments if s.scored] for a in articles]
        passed = self.lm.score_units(
            [a.segment_text(s) for a, segs in zip(articles, segments, strict=True) for s in segs],
            [s.start for segs in segments for s in segs],
            self.detector.state_layers,
            [a.text for a, segs in zip(articles, segments, strict=True) for _s in segs],
        )
        views, k = [], 0
        for segs in segments:
            views.append(passed.article(range(k, k + len(segs))))
            k += len(segs)
        sentence_scores = []
        for a, view in zip(articles, views, strict=True):
            alone = iter(view.segment_tokens())  # one unit per scored segment, in order
            sentence_scores.append([next(alone) if s.scored else None for s in a.segments])
        return self._reports(articles, views, sentence_scores)

    def check_lines(self, articles: list[Article]) -> list[Report]:
        """MT lines: each line is one unit, read alone (no context from other lines), all in one pass; a line's
        sentences take their fluency from the line's own scores."""
        passed = self.lm.score_units([a.text for a in articles], layers=self.detector.state_layers)
        views = [passed.article([i]) for i in range(len(articles))]
        sentence_lists = [
            [[t for t in view.tokens if t.start < s.end and t.end > s.start] if s.scored else None for s in a.segments]
            for a, view in zip(articles, views, strict=True)
        ]
        return self._reports(articles, views, sentence_lists)

    def _reports(self, articles: list[Article], views: list[ArticleScores], sentence_scores: list) -> list[Report]:
        scores = [in_scored(a, v) for a, v in zip(articles, views, strict=True)]
        detections = self.detector.detect_many(articles, scores)
        reports = []
        for article, view, detection, sentences in zip(articles, views, detections, sentence_scores, strict=True):
            flags = self.corrector.suggest(article, detection.flags, view) if self.corrector is not None else None
            fluency = self.fluency.score(article, sentences)
            reports.append(build_report(article, detection, fluency, self.lm.signature(), self.settings(), flags))
        return reports


def in_scored(article: Article, view: ArticleScores) -> ArticleScores | None:
    """An article with nothing scored (all boilerplate) gets no LM evidence."""
    return view if any(s.scored for s in article.segments) and view.indices else None


def in_scored_segments(article: Article, tokens: list) -> list:
    """Boilerplate and bylines are context for the model but get no score."""
    spans = [(s.start, s.end) for s in article.segments if s.scored]
    out, i = [], 0
    for t in tokens:
        middle = (t.start + t.end) / 2
        while i < len(spans) and spans[i][1] <= t.start:
            i += 1
        if i < len(spans) and spans[i][0] <= middle < spans[i][1] + 0.5:
            out.append(t)
    return out
