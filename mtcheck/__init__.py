"""mtcheck: find machine-garbled passages in English translations of news.

    from mtcheck import Checker, Gate
    report = Checker().check_text("...")
    Gate().decide(report).decision

(`mtcheck.api`; imported on first use, so that `import mtcheck` stays cheap and loads no torch.)
"""

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Checker", "Decision", "Gate", "Report", "__version__"]

if TYPE_CHECKING:
    from mtcheck.api import Checker, Decision, Gate
    from mtcheck.core.report import Report


def __getattr__(name: str):
    if name in ("Checker", "Decision", "Gate"):
        from mtcheck import api

        return getattr(api, name)
    if name == "Report":
        from mtcheck.core.report import Report

        return Report
    raise AttributeError(f"module 'mtcheck' has no attribute {name!r}")
