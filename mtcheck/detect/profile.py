"""The learned detector's profile (`models/detector/<model>.json`), read once into typed values: how it was
trained, its calibrations and thresholds per source, its specialists and its flag-confidence curves. Written
by `mtcheck.training`; read here and nowhere else at run time."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from mtcheck.core.errors import MtcheckError
from mtcheck.models import DETECTOR_DIR


@dataclass(frozen=True)
class WeightsFile:
    name: str  # a file in models/detector/
    sha256: str

    def verified(self, owner: str) -> Path:
        """The weights' path, once their content matches the hash recorded in `owner`."""
        path = DETECTOR_DIR / self.name
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"
        if digest != self.sha256:
            raise MtcheckError(f"{path}: detector weights do not match the sha256 recorded in {owner}")
        return path


@dataclass(frozen=True)
class Specialist:
    """A per-source tagger (one more epoch on the pair's training sample): one net or a seed ensemble."""

    members: tuple[WeightsFile, ...]
    platt: tuple[float, float]
    threshold: float
    lm_states: dict | None  # `signals.tagger.LMStates` as JSON
    context: int
    sha256: str  # of its first member: names it in the signature


@dataclass(frozen=True)
class SourceProfile:
    platt: tuple[float, float]
    threshold: float
    specialist: Specialist | None = None


@dataclass(frozen=True)
class DetectorProfile:
    path: Path
    sha256: str  # of the profile file: names the detector in every report's signature
    params: dict  # the whole file, for the tagger's own construction (features, encoder, sizes)
    weights: WeightsFile
    platt: tuple[float, float]  # pooled calibration: lines of unknown origin
    threshold: float  # pooled line threshold (MCC-best on dev)
    article_threshold: float  # stricter: articles are mostly well-formed
    by_source: dict[str, SourceProfile] = field(default_factory=dict)
    flag_confidence: dict = field(default_factory=dict)  # isotonic curves per source and pooled
    # the curve for whole articles (of unknown origin), fitted on the dev articles' raters' spans
    article_flag_confidence: dict = field(default_factory=dict)
    command: str = ""

    @property
    def article_platt(self) -> tuple[float, float]:
        """Articles are read with the pooled calibration (their source is unknown)."""
        return self.platt

    @classmethod
    def for_model(cls, model_name: str) -> DetectorProfile | None:
        path = DETECTOR_DIR / f"{model_name}.json"
        return cls.load(path) if path.exists() else None

    @classmethod
    def load(cls, path: Path) -> DetectorProfile:
        raw = path.read_bytes()
        try:
            params = json.loads(raw)
            by_source = {src: _source(own) for src, own in params.get("by_source", {}).items()}
            return cls(
                path=path,
                sha256=hashlib.sha256(raw).hexdigest(),
                params=params,
                weights=WeightsFile(params["weights"], params["weights_sha256"]),
                platt=tuple(params["platt"]),
                threshold=params["threshold"],
                article_threshold=params["article_threshold"],
                by_source=by_source,
                flag_confidence=params.get("flag_confidence", {}),
                article_flag_confidence=params.get("article_flag_confidence", {}),
                command=params.get("command", ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MtcheckError(f"{path}: not a detector profile ({type(exc).__name__}: {exc})") from None


def _source(own: dict) -> SourceProfile:
    special = own.get("specialist")
    specialist = None
    if special:
        members = tuple(WeightsFile(m["weights"], m["weights_sha256"]) for m in special.get("members", [special]))
        specialist = Specialist(
            members=members,
            platt=tuple(special["platt"]),
            threshold=special["threshold"],
            lm_states=special.get("lm_states"),
            context=int(special.get("context", 0)),
            sha256=special["weights_sha256"],
        )
    return SourceProfile(tuple(own["platt"]), own["threshold"], specialist)
