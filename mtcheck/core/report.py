"""The report: what `mtcheck check` writes per article, and the one contract between detection and everything
after it. Review, apply, gate, eval and export read a report only through `Report.from_json`; the JSON layout
is documented in docs/report-schema.md and versioned by `schema`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from mtcheck.core.codes import SEVERITY_ORDER, Severity
from mtcheck.core.errors import MtcheckError
from mtcheck.core.types import Flag

SCHEMA = "mtcheck.report/1"
SCHEMA_FAMILY, SCHEMA_VERSION = SCHEMA.split("/")


@dataclass(frozen=True)
class ArticleInfo:
    path: str  # the file it came from; feed items: "feed.jsonl#<line number>"
    id: str
    title: str | None
    url: str | None
    format: str  # txt md html json jsonl lines
    encoding: str
    encoding_note: str | None
    sha256: str  # of `text` as UTF-8
    words: int  # words in the scored segments
    text: str  # the analysed text: every offset of the report points into it


@dataclass(frozen=True)
class Scores:
    fluency: float | None  # article fluency 0-100
    mean_surprisal: float | None  # nats per scored token
    flagged_share: float  # share of scored characters inside a flag
    predicted_bad: float | None  # the learned detector's mean P(BAD) over the article's words, headline aside
    flags: int
    critical: int
    major: int
    minor: int
    # the score head's expected words in error per sentence, headline aside: the article's score against human
    # English (None without a score head)
    bad_words_per_sentence: float | None = None
    # the same head's expected words in error in the article's worse sentences (the 80th percentile of its body
    # sentences' counts): the score the gate reads by default (None without a score head)
    bad_words_worst_fifth: float | None = None

    def count(self, severity: Severity | str) -> int:
        return getattr(self, str(severity))


@dataclass(frozen=True)
class ParagraphScore:
    start: int
    end: int
    fluency: float | None


@dataclass(frozen=True)
class SegmentScore:
    start: int
    end: int
    kind: str  # title | sentence | boilerplate | byline
    paragraph: int
    fluency: float | None
    mean_surprisal: float | None
    predicted_bad: float | None

    @property
    def scored(self) -> bool:
        return self.kind in ("title", "sentence")


@dataclass(frozen=True)
class WordTags:
    """Word-level quality estimation, as WMT QE scores it: each scored word's P(BAD) and the threshold from which
    a word is tagged BAD (chosen on dev for word MCC). Denser than the flags: a data team's measure of a
    translation, not a list for a person to review (most BAD words are minor, and human text gets some)."""

    threshold: float
    words: tuple[tuple[int, int, float], ...]  # (start, end, P(BAD)) in reading order

    def bad(self) -> list[tuple[int, int]]:
        return [(a, b) for a, b, p in self.words if p >= self.threshold]

    def to_json(self) -> dict:
        return {"threshold": self.threshold, "words": [list(w) for w in self.words]}

    @classmethod
    def from_json(cls, data: dict) -> WordTags:
        return cls(float(data["threshold"]), tuple((int(a), int(b), float(p)) for a, b, p in data["words"]))


@dataclass(frozen=True)
class Report:
    article: ArticleInfo
    model: dict  # the model's signature: name, sha256, source, device, window ...
    settings: dict  # every setting that changes the output; "signature" is their one-line form
    scores: Scores
    calibration: str  # how the 0-100 scale is calibrated, one sentence
    paragraphs: tuple[ParagraphScore, ...]
    segments: tuple[SegmentScore, ...]
    flags: tuple[Flag, ...]
    created: str = ""
    tool: dict = field(default_factory=lambda: {"name": "mtcheck", "version": ""})
    schema: str = SCHEMA
    word_tags: WordTags | None = None  # where the detector rates words (a learned detector ships)

    @property
    def text(self) -> str:
        return self.article.text

    def flag(self, flag_id: str) -> Flag | None:
        return next((f for f in self.flags if f.id == flag_id), None)

    def flags_at_least(self, severity: Severity | str) -> list[Flag]:
        return [f for f in self.flags if Severity(f.severity).at_least(severity)]

    def severity_counts(self) -> dict[str, int]:
        return {str(s): self.scores.count(s) for s in reversed(SEVERITY_ORDER)}

    def with_flags(self, flags: list[Flag]) -> Report:
        return replace(self, flags=tuple(flags))

    def to_json(self) -> dict:
        out = {"schema": self.schema, "tool": self.tool}
        if self.created:
            out["created"] = self.created
        return (
            out
            | {
                "article": dict(vars(self.article)),
                "model": self.model,
                "settings": self.settings,
                "scores": dict(vars(self.scores)),
                "calibration": self.calibration,
                "paragraphs": [dict(vars(p)) for p in self.paragraphs],
                "segments": [dict(vars(s)) for s in self.segments],
                "flags": [f.to_json() for f in self.flags],
            }
            | ({"word_tags": self.word_tags.to_json()} if self.word_tags is not None else {})
        )

    @classmethod
    def from_json(cls, data: dict, where: str = "report") -> Report:
        """A report read back; `where` names it in errors. Refuses another schema or a newer version of this
        one, and a report whose parts are missing, with one line that says which."""
        if not isinstance(data, dict):
            raise MtcheckError(f"{where}: not a report (a JSON object was expected)")
        schema = str(data.get("schema", ""))
        family, _, version = schema.partition("/")
        if family != SCHEMA_FAMILY:
            raise MtcheckError(f"{where}: not an mtcheck report (schema {schema or 'missing'}, expected {SCHEMA})")
        if not version.isdigit() or int(version) > int(SCHEMA_VERSION):
            raise MtcheckError(f"{where}: report schema {schema} is newer than this mtcheck reads ({SCHEMA})")
        try:
            a, s = data["article"], data.get("scores", {})
            if not isinstance(data.get("flags"), list):
                raise KeyError("flags (a list)")
            flags = tuple(Flag.from_json(f) for f in data["flags"])
            article = ArticleInfo(
                path=a.get("path", ""),
                id=a.get("id", ""),
                title=a.get("title"),
                url=a.get("url"),
                format=a.get("format", "txt"),
                encoding=a.get("encoding", "utf-8"),
                encoding_note=a.get("encoding_note"),
                sha256=a.get("sha256", ""),
                words=a.get("words", 0),
                text=a["text"],
            )
            counts = {str(sev): sum(1 for f in flags if f.severity == sev) for sev in SEVERITY_ORDER}
            scores = Scores(
                fluency=s.get("fluency"),
                mean_surprisal=s.get("mean_surprisal"),
                flagged_share=s.get("flagged_share", 0.0),
                predicted_bad=s.get("predicted_bad"),
                flags=s.get("flags", len(flags)),
                **{k: s.get(k, n) for k, n in counts.items()},
                bad_words_per_sentence=s.get("bad_words_per_sentence"),
                bad_words_worst_fifth=s.get("bad_words_worst_fifth"),
            )
            segments = tuple(
                SegmentScore(
                    g["start"],
                    g["end"],
                    g["kind"],
                    g.get("paragraph", 0),
                    g.get("fluency"),
                    g.get("mean_surprisal"),
                    g.get("predicted_bad"),
                )
                for g in data.get("segments", [])
            )
            paragraphs = tuple(
                ParagraphScore(p["start"], p["end"], p.get("fluency")) for p in data.get("paragraphs", [])
            )
            word_tags = WordTags.from_json(data["word_tags"]) if data.get("word_tags") is not None else None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MtcheckError(f"{where}: not a valid {SCHEMA} report ({type(exc).__name__}: {exc})") from None
        # Every offset in a report points into article.text; a text edited after the check (or damaged) would
        # have them point at other words, and `apply` would write the wrong text.
        text = article.text if isinstance(article.text, str) else ""
        if not isinstance(article.text, str):
            raise MtcheckError(f"{where}: report has no article text")
        if not isinstance(article.sha256, str) or not article.sha256:
            raise MtcheckError(f"{where}: report has no article sha256")
        if hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() != article.sha256:
            raise MtcheckError(f"{where}: article.text does not match its sha256: the report was edited or damaged")
        for f in flags:
            if not (isinstance(f.start, int) and isinstance(f.end, int) and 0 <= f.start <= f.end <= len(text)):
                raise MtcheckError(f"{where}: flag {f.id or '?'} spans {f.start}-{f.end}, outside the article text")
        return cls(
            article=article,
            model=data.get("model", {}),
            settings=data.get("settings", {}),
            scores=scores,
            calibration=data.get("calibration", ""),
            paragraphs=paragraphs,
            segments=segments,
            flags=flags,
            created=data.get("created", ""),
            tool=data.get("tool", {"name": "mtcheck", "version": ""}),
            schema=schema,
            word_tags=word_tags,
        )
