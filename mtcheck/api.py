"""The Python API: check text in memory and decide it as the gate would, without files.

    from mtcheck import Checker, Gate
    checker = Checker()                                   # the default model, loaded once
    report = checker.check_text(text, title="Talks end")  # a typed Report (mtcheck.core.report)
    reports = checker.check_many([text1, text2])          # several at once, one LM pass per batch
    decision = Gate().decide(report)                      # accept | quarantine | reject, with the reasons

The same stages as `mtcheck check` and `mtcheck gate`: a report here equals the one the CLI writes for the
same text (`Report.to_json()` is that file's body). The HTTP server, the Ray engine and the datatrove filter
are built on these two classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.report import Report
from mtcheck.gate.filters import GateReason, decide, scores_of
from mtcheck.gate.policy import Policy, default_policy, load_policy
from mtcheck.pipeline import Checker as _Pipeline
from mtcheck.reading.formats import feed_item_article, text_article

# What check_many and Gate.decide take: plain text, a feed item ({"text"|"body", "title", "id", ...}, the fields
# of a JSONL feed line), or an Article already read.
Text = str | Mapping[str, Any] | Article


class Checker:
    """One loaded model and its detector, fluency scorer and corrector, reused for every text.

    `model`: a manifest name or a model folder (default: smollm2-135m); `device`: cpu | cuda | auto;
    `source_lang`: the source language when every text comes from one (a call may give its own);
    `corrections`: propose corrected readings for flags of `correct_from` severity or worse;
    `threads`: torch's CPU threads (default: all cores)."""

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = None,
        source_lang: str | None = None,
        corrections: bool = True,
        correct_from: str = "minor",
        precision: str | None = None,
        threads: int | None = None,
        rewrite: bool = False,
    ):
        self._base = _Pipeline(
            model,
            device=device,
            corrections=corrections,
            source_lang=source_lang,
            precision=precision,
            correct_from=correct_from,
            threads=threads,
            rewrite=rewrite,
        )
        self.source_lang = source_lang
        self._by_source: dict[str | None, _Pipeline] = {source_lang: self._base}

    @property
    def model(self) -> dict:
        """The model's signature as every report records it: name, sha256, device, precision..."""
        return self._base.lm.signature()

    def signature(self) -> str:
        """Every setting that changes the output, in one line (each report's `settings.signature`)."""
        return self._base.signature().short()

    def check_text(
        self, text: str, title: str | None = None, source_lang: str | None = None, id: str = "text"
    ) -> Report:
        """One article from a string: blank lines separate paragraphs; `title` is its headline (else, as for a
        .txt file, a short first line is taken as one). Raises InputError for text with nothing to check."""
        if not isinstance(text, str):
            raise InputError(f"<{id}>", f"text must be a string, not {type(text).__name__}")
        if not text.strip():
            raise InputError(f"<{id}>", "empty text: nothing to check")
        return self._for(source_lang).check(text_article(text, title=title, id=id, path=f"<{id}>"))

    def check_many(
        self, texts: Iterable[Text], source_lang: str | None = None, batch_size: int = 8
    ) -> list[Report | InputError]:
        """Every text checked, reports in input order; a text that cannot be read gives its InputError in its
        place (the others go on). Up to `batch_size` articles share one LM pass: faster, and under bf16 an
        article's figures then move in the last digits with its companions (docs/architecture.md); 1 gives
        exactly the figures of `check_text`."""
        articles = [as_article(t, i) for i, t in enumerate(texts)]
        readable = [a for a in articles if isinstance(a, Article)]
        checker = self._for(source_lang)
        reports: list[Report] = []
        for start in range(0, len(readable), max(1, batch_size)):
            reports += checker.check_many(readable[start : start + max(1, batch_size)])
        done = iter(reports)
        return [a if isinstance(a, InputError) else next(done) for a in articles]

    def check_article(self, article: Article, source_lang: str | None = None) -> Report:
        return self._for(source_lang).check(article)

    def _for(self, source_lang: str | None) -> _Pipeline:
        """The checker for a source language: the same model, a detector for that language (built once)."""
        source_lang = source_lang or self.source_lang
        if source_lang not in self._by_source:
            self._by_source[source_lang] = self._base.for_source(source_lang)
        return self._by_source[source_lang]


def as_article(item: Text, index: int = 0) -> Article | InputError:
    """A text, a feed item or an Article as an Article, or the InputError that says why it is none."""
    where = f"<item {index + 1}>"
    if isinstance(item, Article):
        return item
    if isinstance(item, str):
        if not item.strip():
            return InputError(where, "empty text: nothing to check")
        return text_article(item, id=str(index + 1), path=where)
    if isinstance(item, Mapping):
        return feed_item_article(dict(item), where, str(index + 1))
    return InputError(where, f"not a text, a feed item or an Article: {type(item).__name__}")


@dataclass(frozen=True)
class Decision:
    """What the gate decides for one item: accept | quarantine | reject, the reasons (most severe first, none
    when accepted), the figures it rests on and the report."""

    decision: str
    reasons: tuple[GateReason, ...]
    scores: dict | None
    report: Report | None

    @property
    def accepted(self) -> bool:
        return self.decision == "accept"

    def to_json(self) -> dict:
        return {"decision": self.decision, "reasons": [r.to_json() for r in self.reasons], "scores": self.scores}


class Gate:
    """The gate's policy applied in memory (`mtcheck gate` applies the same to files and feeds, and keeps
    them). `policy`: a Policy, a TOML file's path, or None for the built-in defaults; `checker`: the Checker
    used when `decide` is given text (built on first need with the default model)."""

    def __init__(self, policy: Policy | str | Path | None = None, checker: Checker | None = None):
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy) if policy else default_policy()
        self._checker = checker

    @property
    def checker(self) -> Checker:
        if self._checker is None:
            self._checker = Checker(correct_from="major")
        return self._checker

    def decide(self, item: Report | Text) -> Decision:
        """Decide a report, or check a text / feed item / Article first. An item that cannot be read is
        quarantined as unreadable (the gate's rule: nothing is dropped unseen)."""
        if isinstance(item, Report):
            report = item
        else:
            article = as_article(item)
            if isinstance(article, InputError):
                reason = GateReason("quarantine", "unreadable", article.cause)
                return Decision("quarantine", (reason,), None, None)
            try:
                report = self.checker.check_article(article)
            except MtcheckError as exc:
                reason = GateReason("quarantine", "checker-error", f"the checker failed: {exc}")
                return Decision("quarantine", (reason,), None, None)
        decision, reasons = decide(report, self.policy)
        return Decision(decision, tuple(reasons), scores_of(report), report)
