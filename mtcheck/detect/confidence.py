"""Calibrated flag confidence: the share of a flag's words that are truly wrong.

A flag's raw evidence (1 - prod(1 - c) over its distinct reasons) ranks flags well but is not a probability:
rules and edit gain are sure of themselves on news text with a 2% error rate too. So the confidence a report
shows is the raw evidence mapped through an isotonic (monotone) curve fitted on dev
(`python -m mtcheck.training.fit_confidence`): among dev words covered by a flag of evidence e, the share that
annotators marked BAD. One curve per source language with dev data, and a pooled one for text of unknown origin.
"""

from __future__ import annotations

import numpy as np


class ConfidenceMap:
    """Evidence -> calibrated confidence, linear between the knots, flat beyond them."""

    def __init__(self, knots: dict | None):
        self.x = np.asarray(knots["x"], float) if knots else None
        self.y = np.asarray(knots["y"], float) if knots else None

    def __call__(self, evidence: float) -> float:
        if self.x is None or len(self.x) == 0:
            return evidence
        return float(np.interp(evidence, self.x, self.y))


def curve_for(curves: dict, source: str | None) -> dict | None:
    """A source's own curve (an empty one: too few dev flags, raw evidence), else the pooled one."""
    own = curves.get(source or "")
    return own if own is not None else curves.get("pooled")
