"""The gate as a datatrove filter step: `MTCheckFilter` keeps a `Document` or drops it with the gate's reason.

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from mtcheck.gate.datatrove_filter import MTCheckFilter

    LocalPipelineExecutor(
        [
            JsonlReader("news/"),
            MTCheckFilter(policy="gate-policy.toml", exclusion_writer=JsonlWriter("held/")),
            JsonlWriter("kept/"),
        ],
        tasks=4,
        logging_dir="logs/",
    ).run()

Each document is read as a feed item ({"text": doc.text, "title": doc.metadata[title_key]}: the same reading as a
line of a JSONL feed given to `mtcheck gate`), checked by the same `Checker` and decided by the same checks
(`filters.decide`) under the same policy, so a document gets the decision the gate gives that feed line. Nothing
is lost: every document, kept or dropped, gets `metadata["mtcheck"]` (decision, reasons, scores, model, policy
sha256); a dropped one goes to the exclusion writer with `metadata["filter_reason"]` = "<decision>: <code>:
<message>" (its most severe reason). Text that cannot be read (empty) is quarantined as "unreadable" and a
checker crash on one document quarantines it as "checker-error": the pipeline goes on. A model that cannot load
stops the task, as it stops the gate.

The model is loaded on the first document a process filters, once per process (datatrove pickles or copies the
pipeline for each task; the filter travels without it). `pip install 'mtcheck[datatrove]'` installs datatrove.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

try:
    from datatrove.data import Document
    from datatrove.pipeline.filters.base_filter import BaseFilter
    from datatrove.pipeline.writers.disk_base import DiskWriter
except ImportError as exc:  # one line, no chained traceback: the fix is an install
    raise ImportError(f"mtcheck's datatrove filter needs datatrove ({exc}): pip install 'mtcheck[datatrove]'") from None

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError
from mtcheck.core.report import Report
from mtcheck.gate.filters import DECISIONS, QUARANTINE, GateReason, decide, scores_of
from mtcheck.gate.policy import Policy, default_policy, load_policy
from mtcheck.reading.formats import feed_item_article

# Checkers loaded in this process, by their settings and source language: every copy of the filter (one per
# datatrove task, copied or unpickled) shares one model per process.
_LOADED: dict[tuple, Any] = {}


def _checker_for(settings: tuple, source_lang: str | None) -> Any:
    key = (settings, source_lang)
    if key not in _LOADED:
        if source_lang is None:
            from mtcheck.pipeline import Checker  # torch and the model: only where a document is checked

            model, device, corrections, threads = settings
            _LOADED[key] = Checker(
                model, device, corrections=corrections, correct_from="major", threads=threads
            )  # the gate's settings: corrections (when asked) only for flags that hold an item back
        else:  # the same model, a detector for that source language
            _LOADED[key] = _checker_for(settings, None).for_source(source_lang)
    return _LOADED[key]


def _crashed(exc: Exception) -> GateReason:
    message = " ".join(str(exc).split())[:300]
    return GateReason(QUARANTINE, "checker-error", f"the checker failed: {type(exc).__name__}: {message}")


def _unreadable(message: str) -> GateReason:
    return GateReason(QUARANTINE, "unreadable", message)


class MTCheckFilter(BaseFilter):
    """Keep the documents whose gate decision is in `keep`; drop the others with the gate's reason.

    Args:
        policy: the gate's policy: a TOML file's path, a `Policy`, or None for the built-in defaults.
        model: a manifest name or a model folder (default: smollm2-135m); device: cpu | cuda | auto.
        keep: the decisions that pass (default: accept only; ("accept", "quarantine") keeps held items too).
        title_key: the metadata key that holds the headline (None: no headline).
        source_lang_key: a metadata key that holds the source language (e.g. "ro"), for its detector.
        corrections: also propose corrections for major and critical flags (decisions do not change).
        threads: torch's CPU threads per process (default: all cores; with several workers, share them out).
        exclusion_writer: a datatrove writer for the dropped documents.
        batch_size: documents checked in one LM pass (`Checker.check_many`). 1 (default) checks each alone, as
            the gate does, giving its exact figures; more is faster, and under bf16 a document's figures then
            move in their last digits with its companions (docs/architecture.md).
    """

    name = "📰 MTCheck"

    def __init__(
        self,
        policy: str | Path | Policy | None = None,
        model: str | None = None,
        device: str | None = None,
        keep: Iterable[str] | str = ("accept",),
        title_key: str | None = "title",
        source_lang_key: str | None = None,
        corrections: bool = False,
        threads: int | None = None,
        exclusion_writer: DiskWriter | None = None,
        batch_size: int = 1,
    ):
        super().__init__(exclusion_writer=exclusion_writer, batch_size=batch_size)
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy) if policy else default_policy()
        self.policy_sha256 = self.policy.sha256
        self.keep = (keep,) if isinstance(keep, str) else tuple(keep)
        unknown = [k for k in self.keep if k not in DECISIONS]
        if unknown or not self.keep:
            raise ValueError(f"keep={self.keep!r}: expected one or more of {', '.join(DECISIONS)}")
        self.model = model
        self.device = device
        self.title_key = title_key
        self.source_lang_key = source_lang_key
        self.corrections = corrections
        self.threads = threads
        self._make_checker: Callable[[], Any] | None = None  # tests: a stand-in checker, built in each process
        self._checker: Any = None

    # --- the model travels as settings, never loaded --------------------------------------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_checker"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def checker(self) -> Any:
        """The checker, loaded on first need (once per process and settings)."""
        if self._checker is None:
            if self._make_checker is not None:
                self._checker = self._make_checker()
            else:
                self._checker = _checker_for(self._settings, None)
        return self._checker

    @property
    def _settings(self) -> tuple:
        return (self.model, self.device, self.corrections, self.threads)

    def _for(self, source_lang: str | None) -> Any:
        if source_lang is None:
            return self.checker
        if self._make_checker is not None:
            return self.checker.for_source(source_lang)
        return _checker_for(self._settings, source_lang)

    # --- datatrove's interface ----------------------------------------------------------------------
    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        checked = self._check(batch)
        checker = self.checker
        model = {"name": checker.lm.name, "sha256": checker.lm.sha256}
        results: list[bool | tuple[bool, str]] = []
        for doc, got in zip(batch, checked, strict=True):
            if isinstance(got, Report):
                decision, reasons = decide(got, self.policy)
                scores = scores_of(got)
            else:
                decision, reasons, scores = QUARANTINE, [got], None
            doc.metadata["mtcheck"] = {
                "decision": decision,
                "reasons": [r.to_json() for r in reasons],
                "scores": scores,
                "model": model,
                "policy_sha256": self.policy_sha256,
            }
            self.stat_update(decision)
            if decision in self.keep:
                results.append(True)
            else:
                first = reasons[0] if reasons else None
                results.append((False, f"{decision}: {first.code}: {first.message}" if first else decision))
        return results

    def stat_update(self, *labels: str, value: int = 1, unit: str | None = None) -> None:
        """BaseFilter counts each drop reason under "dropped_<reason>"; a reason quotes the document ("1 critical
        flags ...; flagged: “NATO He will.”"), so it is counted under "dropped_<decision>: <code>" instead: a few
        labels, not one per document."""
        short = [": ".join(label.split(": ", 2)[:2]) if label.startswith("dropped_") else label for label in labels]
        super().stat_update(*short, value=value, unit=unit)

    # --- reading and checking ----------------------------------------------------------------------
    def _article(self, doc: Document) -> Article | GateReason:
        """The document as the gate reads a feed line with its text and title; why not, when it cannot be read."""
        text = doc.text
        if not isinstance(text, str):
            return _unreadable(f"the text is {type(text).__name__}, not a string")
        if not text.strip():
            return _unreadable("empty text: nothing to check")
        item = {"id": str(doc.id), "text": text}
        title = doc.metadata.get(self.title_key) if self.title_key else None
        if isinstance(title, str) and title.strip():
            item["title"] = title
        try:
            got = feed_item_article(item, "<document>", str(doc.id))
        except Exception as exc:  # noqa: BLE001 - an unparseable document is kept, quarantined
            return _unreadable(f"{type(exc).__name__}: {exc}")
        return _unreadable(got.cause) if isinstance(got, InputError) else got

    def _source_lang(self, doc: Document) -> str | None:
        value = doc.metadata.get(self.source_lang_key) if self.source_lang_key else None
        return value.strip() if isinstance(value, str) and value.strip() else None

    def _check(self, batch: list[Document]) -> list[Report | GateReason]:
        """A report per readable document, or the reason it has none (unreadable, checker-error)."""
        out: list[Report | GateReason] = [self._article(doc) for doc in batch]
        by_lang: dict[str | None, list[int]] = {}
        for i, doc in enumerate(batch):
            if isinstance(out[i], Article):
                by_lang.setdefault(self._source_lang(doc), []).append(i)
        for lang, indices in by_lang.items():
            checker = self._for(lang)  # outside any try: a model that cannot load stops the task
            articles = [out[i] for i in indices]
            reports: list[Report | GateReason] | None = None
            if len(articles) > 1:
                try:
                    reports = checker.check_many(articles)
                    _give_back_memory()
                except Exception:  # noqa: BLE001 - checked again one by one: only the culprit is quarantined
                    reports = None
            if reports is None:
                reports = [self._check_one(checker, a) for a in articles]
            for i, report in zip(indices, reports, strict=True):
                out[i] = report
        return out

    @staticmethod
    def _check_one(checker: Any, article: Article) -> Report | GateReason:
        try:
            return checker.check(article)
        except Exception as exc:  # noqa: BLE001 - any crash of the checker quarantines the document
            return _crashed(exc)


def _give_back_memory() -> None:
    """Return a batch's freed heap to the system, as `Checker.check` does after each article (a long run's
    resident size would climb); nothing to do where no real checker was loaded (a stand-in in tests)."""
    pipeline = sys.modules.get("mtcheck.pipeline")
    if pipeline is not None:
        pipeline._give_back_memory()
