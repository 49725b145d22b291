"""`mtcheck gate`: accept, quarantine or reject the items of a translated news feed, losing none.

policy.py (thresholds, TOML, explain), filters.py (one small check per concern, on the typed report),
run.py (inputs, deciding, outputs), store.py (state, audit, crash recovery), threshold.py (choose a
threshold from labelled data).
"""

from mtcheck.gate.filters import CHECKS, DECISIONS, GateReason, decide
from mtcheck.gate.policy import DEFAULTS, Policy, default_policy, explain, load_policy

__all__ = [
    "CHECKS",
    "DECISIONS",
    "DEFAULTS",
    "GateReason",
    "Policy",
    "decide",
    "default_policy",
    "explain",
    "load_policy",
]
