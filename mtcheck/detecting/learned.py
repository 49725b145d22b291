"""The learned word-level detector at inference time: a small MLP over `features.FEATURE_NAMES`, in numpy.

Its weights, feature statistics, calibration and threshold live in models/detector/<model>.json, written by
`python -m mtcheck.detecting.train`.
"""

from __future__ import annotations

import numpy as np

from ..modelstore import MANIFEST_PATH

DETECTOR_DIR = MANIFEST_PATH.parent / "detector"


class MLP:
    """A two-layer perceptron in numpy for inference; trained with torch."""

    def __init__(self, params: dict):
        self.mean = np.asarray(params["mean"], np.float32)
        self.std = np.asarray(params["std"], np.float32)
        self.layers = [(np.asarray(w, np.float32), np.asarray(b, np.float32)) for w, b in params["layers"]]
        self.platt = params.get("platt", [1.0, 0.0])

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h[:, 0]

    def proba(self, x: np.ndarray) -> np.ndarray:
        a, b = self.platt
        z = np.clip(a * self.logits(x) + b, -40.0, 40.0)
        return 1.0 / (1.0 + np.exp(-z))
