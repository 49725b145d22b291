"""Files mtcheck ships beside its code, installed as the package `mtcheck.models` (pyproject.toml maps this
folder there): the model manifest, the fluency reference tables, the unigram tables for SLOR and the learned
detector's weights and calibration. The language models themselves are not here: they are installed into the
store (`mtcheck models install`)."""

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = MODELS_DIR / "manifest.toml"
CALIBRATION_DIR = MODELS_DIR / "calibration"  # fluency reference: human-sentence surprisal quantiles per model
UNIGRAM_DIR = MODELS_DIR / "unigram"  # unigram surprisal per token id, for SLOR
DETECTOR_DIR = MODELS_DIR / "detector"  # the learned detector: weights, calibration, thresholds, confidence curves
