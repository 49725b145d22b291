"""The Python API (`from mtcheck import Checker, Gate`): the same reports as the CLI, from strings."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import SEED_NEWS

GARBLED = (
    "Talks end without a deal\n\n"
    "Russia demanded guarantees from the alliance on Wednesday. The minister said the United States' pledge "
    "that NATO He will. They no longer accept new members, and the talks would go on next week in Geneva."
)


def test_import_mtcheck_loads_no_model_code():
    code = "import sys, mtcheck; print('torch' in sys.modules, mtcheck.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False"


@pytest.fixture(scope="module")
def api_checker():
    from mtcheck import Checker

    return Checker()


@pytest.mark.model
def test_check_text_equals_the_cli_report_of_the_same_file(api_checker, checker):
    from mtcheck.reading import read_file

    text = SEED_NEWS.read_text(encoding="utf-8")
    from_api = api_checker.check_text(text).to_json()
    from_file = checker.check(read_file(SEED_NEWS)[0]).to_json()
    assert from_api["flags"] == from_file["flags"]
    assert from_api["scores"] == from_file["scores"]


@pytest.mark.model
def test_check_text_flags_the_garble_and_takes_a_title(api_checker):
    from mtcheck import Report

    report = api_checker.check_text(GARBLED.split("\n\n", 1)[1], title="Talks end without a deal")
    assert isinstance(report, Report)
    assert report.article.title == "Talks end without a deal"
    flagged = [report.text[f.start : f.end] for f in report.flags]
    assert any("He will" in f for f in flagged)
    assert api_checker.model["name"] == "smollm2-135m" and len(api_checker.model["sha256"]) == 64


@pytest.mark.model
def test_check_many_keeps_order_and_returns_the_error_of_an_unreadable_item(api_checker):
    from mtcheck.core.errors import InputError

    out = api_checker.check_many([GARBLED, "  ", {"title": "Talks", "body": "The talks ended without a deal."}])
    assert [type(r).__name__ for r in out] == ["Report", "InputError", "Report"]
    assert isinstance(out[1], InputError) and "empty text" in str(out[1])
    assert out[2].article.title == "Talks"
    alone = api_checker.check_many([GARBLED], batch_size=1)[0]
    assert [(f.start, f.end) for f in out[0].flags] == [(f.start, f.end) for f in alone.flags]


@pytest.mark.model
def test_a_source_language_gets_its_own_detector_on_the_same_model(api_checker):
    report = api_checker.check_text(GARBLED, source_lang="ro")
    assert "ro" in report.settings["detector"] or "ro" in report.settings["signature"]
    assert api_checker._by_source["ro"].lm is api_checker._base.lm


def test_empty_text_is_a_clear_error(api_checker):
    from mtcheck.core.errors import InputError

    with pytest.raises(InputError, match="empty text"):
        api_checker.check_text("\n \n")


@pytest.mark.model
def test_gate_decides_a_report_or_a_text_with_reasons(api_checker):
    from mtcheck import Gate

    gate = Gate(checker=api_checker)
    held = gate.decide(GARBLED)
    assert held.decision in ("quarantine", "reject") and not held.accepted
    assert any(r.code == "critical-flags" for r in held.reasons)
    assert held.to_json()["scores"]["critical"] >= 1
    again = gate.decide(held.report)
    assert again.decision == held.decision
    unreadable = gate.decide({"title": "only a title"})
    assert unreadable.decision == "quarantine" and unreadable.reasons[0].code == "unreadable"


def test_gate_reads_a_policy_file(tmp_path):
    from mtcheck import Gate

    policy = tmp_path / "policy.toml"
    policy.write_text("[fluency]\nquarantine_below = 55.0\n", encoding="utf-8")
    assert Gate(policy).policy.get("fluency", "quarantine_below") == 55.0
    assert Gate().policy.get("fluency", "quarantine_below") != 55.0
