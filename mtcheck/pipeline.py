"""One article through the stages, in one direction: read -> score with the LM -> detect -> correct -> roll up
fluency -> build the report. The one place where the stages meet; every value it passes on is new."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mtcheck.core.article import Article
from mtcheck.core.codes import Severity
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.report import Report
from mtcheck.core.signature import Signature
from mtcheck.correct.corrector import Corrector, CorrectorSettings
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
    items: list[Article | InputError],
    make_checker: Callable[[], Checker],
    writer: ReportWriter,
    workers: Callable[[], Workers] | None = None,
) -> Iterator[Outcome]:
    """Check every article read (`iter_articles`) and write its reports, in input order; the checker (or, with
    `workers`, the worker threads' checker) is made only when some input was read (a run with nothing to check fails
    fast, without loading the model). `writer.finish()` is the caller's."""
    articles = [i for i in items if not isinstance(i, InputError)]
    pool = workers() if workers is not None and articles else None
    try:
        if pool is not None:
            results = pool.map(articles)
        else:
            checker = make_checker() if articles else None
            results = (_checked(checker, a) for a in articles)
        for item in items:
            if isinstance(item, InputError):
                writer.fail(item.path, item.cause)
                yield Outcome(item.path, error=str(item))
                continue
            result = next(results)
            if isinstance(result, MtcheckError):
                writer.fail(item.path, str(result))
                yield Outcome(item.path, error=f"{item.path}: {result}")
                continue
            yield Outcome(item.path, summary=writer.write(result))
    finally:
        if pool is not None:
            pool.close()


def _checked(checker: Checker | None, article: Article) -> Report | MtcheckError:
    assert checker is not None
    try:
        return checker.check(article)
    except MtcheckError as exc:
        return exc


def check_line_articles(checker: Checker, articles: list[Article], step: int = 64, progress=None) -> list[Report]:
    """MT lines checked in batches of `step` (each line alone); `progress(n)` after each batch."""
    reports: list[Report] = []
    for start in range(0, len(articles), step):
        reports += checker.check_lines(articles[start : start + step])
        if progress:
            progress(min(step, len(articles) - start))
    return reports


def iter_articles(paths: Sequence[str | Path], exclude: Path | None = None) -> Iterator[Article | InputError]:
    """Every article under the given paths (the `exclude` folder, the run's output, skipped), or an error per
    input that could not be read."""
    for item in iter_inputs(paths, exclude):
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
        correct_from: str = "minor",
        threads: int | None = None,
        rewrite: bool = False,
    ):
        """`correct_from`: the least severe flag that gets suggestions (the gate asks for major: its reports
        need corrections only where an item is held back). `threads`: torch's CPU threads (default all).
        `rewrite`: one more candidate per major flag, the instruction-tuned model's rewrite (`--rewrite`)."""
        self.lm = LanguageModel(model, device=device, precision=precision, threads=threads)
        self.detector = Detector(self.lm, source_lang=source_lang)
        self.fluency = FluencyScorer(self.lm.name)
        settings = CorrectorSettings(min_severity=Severity(correct_from), rewrite=rewrite)
        self.corrector = Corrector(self.lm, settings) if corrections else None

    def for_source(self, source_lang: str | None) -> Checker:
        """A checker for another source language on the same loaded model: only the detector (that language's
        calibration and specialist) is new; the model, fluency scorer and corrector are shared."""
        other = copy.copy(self)
        other.detector = Detector(self.lm, source_lang=source_lang)
        return other

    def signature(self) -> Signature:
        """Every setting that changes the output (short form in each report's `settings.signature`)."""
        corrector = self.corrector.signature() if self.corrector else Signature.of(("corrector", "off"))
        model = Signature.of(("model", f"{self.lm.name}@{self.lm.sha256[:12]}"), ("precision", self.lm.precision))
        if self.lm.device == "cpu":  # bf16 kernels sum in an order that depends on the thread count
            model = model + Signature.of(("threads", self.lm.threads))
        return replace(self.detector.signature() + corrector + model, prefix="mtcheck")

    def settings(self) -> dict:
        return {
            "detector": self.detector.name,
            "signature": self.signature().short(),
            "window": self.lm.window,
            "precision": self.lm.precision,
            "threads": self.lm.threads if self.lm.device == "cpu" else None,
            "overlap": self.lm.overlap,
            "fluency_calibrated": self.fluency.calibrated,
        }

    def check(self, article: Article) -> Report:
        report = self.check_many([article])[0]
        _give_back_memory()
        return report

    def check_many(self, articles: list[Article]) -> list[Report]:
        """Articles checked together: one LM pass over all their sentences, each read alone (fluency reads
        them so, as the human reference was read, and the tagger was trained on lines read alone), shared by
        detection, fluency and the corrections. Under bf16 an article's numbers then depend a little on its
        companions (the batch's shapes change the order of sums: docs/architecture.md), so `check` and `gate`
        pass one article at a time and check several at once on threads (`Workers`) for more speed."""
        segments = [[s for s in a.segments if s.scored] for a in articles]
        passed = self.lm.score_units(
            [a.segment_text(s) for a, segs in zip(articles, segments, strict=True) for s in segs],
            [s.start for segs in segments for s in segs],
            self.detector.pass_layers,
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
        passed = self.lm.score_units([a.text for a in articles], layers=self.detector.pass_layers)
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


def _give_back_memory() -> None:
    """Return the freed heap to the system after an article: an article's pass leaves hundreds of MB of freed
    tensors that glibc keeps, and over a long gate the resident size would climb (2.4 GB over 100 articles
    without this, docs/results.md). A no-op where there is no glibc."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


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


# --- several articles at once (`--jobs N`) ----------------------------------------------------------------------
class WorkerDied(MtcheckError):
    """The checker could not be built or a check could not run for a reason no item is to blame for (the model
    did not load): the run fails."""


class Workers:
    """`jobs` articles checked at once in this process, on threads that share one Checker (one copy of the model),
    with torch's CPU threads shared out among them (cores // jobs each). A torch op runs without the GIL, so the
    threads overlap what one article cannot: its Python work and its small matrix products, which two threads of
    one op speed up little (docs/results.md: two one-thread checks at once beat one two-thread check by about
    1.3x, for the memory of one model). Each article is still checked alone, so its numbers are those of a
    one-article run with the same thread count (reports record it). The Checker is built with the first article
    submitted; results come back as futures."""

    def __init__(self, jobs: int, settings: dict):
        import os
        import threading
        from concurrent.futures import ThreadPoolExecutor

        cores = os.cpu_count() or 1
        self.jobs = jobs
        self._settings = {**settings, "threads": max(1, cores // jobs)}
        self._checker: Checker | None = None
        self._failed: str | None = None
        self._building = threading.Lock()
        self._pool = ThreadPoolExecutor(jobs, thread_name_prefix="mtcheck-check")

    def _check(self, article: Article) -> Report:
        with self._building:
            if self._checker is None and self._failed is None:
                try:
                    self._checker = Checker(**self._settings)
                except MtcheckError as exc:
                    self._failed = str(exc)
        if self._checker is None:
            raise WorkerDied(self._failed or "the checker did not start")
        return self._checker.check(article)

    def submit(self, article: Article):
        return self._pool.submit(self._check, article)

    def map(self, articles: list[Article]) -> Iterator[Report | MtcheckError]:
        """Every article checked, results in order (an article the checker refused gives its MtcheckError)."""
        futures = [self.submit(a) for a in articles]
        for future in futures:
            try:
                yield future.result()
            except WorkerDied:
                raise
            except MtcheckError as exc:
                yield exc

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
