"""`mtcheck gate`: policy, filters (reports built without the model by tests/reports.py), the run's
bookkeeping (a stand-in checker), and with the real model in subprocesses: the seeds, a kill -9 in the middle
of a feed and the restart."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SEED_NEWS, SEEDS, start_gate_and_wait

from mtcheck.cli import main
from mtcheck.core.report import Report
from mtcheck.gate.filters import (
    ACCEPT,
    QUARANTINE,
    REJECT,
    bad_words_per_sentence,
    bad_words_worst_fifth,
    boilerplate_only,
    critical_flags,
    decide,
    flag_density,
    fluency,
    language,
    predicted_bad,
    too_short,
)
from mtcheck.gate.policy import DEFAULTS, default_policy, explain, load_policy
from mtcheck.gate.run import FeedGate, iter_folder, iter_jsonl
from mtcheck.gate.store import cut_partial_line
from mtcheck.gate.threshold import best, sweep
from reports import make_report

POLICY = default_policy()
ENGLISH = (
    "The government said on Monday that it would raise the minimum wage by five percent next year. "
    "Trade unions welcomed the decision but said it was not enough to keep up with the rising cost of living. "
    "The opposition accused the ministers of acting only because an election is coming in the spring. "
    "Economists expect the change to affect about two million workers across the country."
)
# Garbled spans as the seed article has them, after clean English.
GARBLED = ENGLISH + " NATO He will. The talks [to invade] By de-escalation ended without a deal."
# Five phrases of ENGLISH, in reading order, to flag.
PHRASES = ["government", "minimum wage", "Trade unions", "opposition", "election"]


def report_of(text: str = ENGLISH, flags: tuple | list = (), **scores) -> Report:
    """The report of an untitled text (a feed item's body), built by the product (tests/reports.py), with
    chosen scores (fluency=, predicted=) and flags."""
    return make_report(text, flags, has_title=False, **scores)


def flag(text: str, severity: str, code: str = "edit-gain") -> dict:
    """A flag on the first occurrence of `text` in the report's text."""
    return {"text": text, "severity": severity, "confidence": 0.95, "reasons": [{"code": code, "message": "m"}]}


# --- policy ----------------------------------------------------------------------------------------


def test_explain_prints_values_and_sha256(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["gate", "--explain"])
    assert result.exit_code == 0, result.output
    assert POLICY.sha256 in result.output and "built-in defaults" in result.output
    assert f"reject_below = {DEFAULTS['fluency']['reject_below']!r}" in result.output
    # The repository's commented policy restates the defaults: same values, same hash.
    shipped = load_policy(ROOT / "gate-policy.toml")
    assert shipped.values == POLICY.values and shipped.sha256 == POLICY.sha256
    custom = tmp_path / "p.toml"
    custom.write_text("[fluency]\nreject_below = 10\n[density]\nmajor_reject_above = false\n")
    text = explain(load_policy(custom))
    assert "reject_below = 10.0" in text and "major_reject_above = false" in text
    assert load_policy(custom).sha256 != POLICY.sha256 and load_policy(custom).sha256 in text


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[fluency]\nreject_belo = 3\n", "fluency.reject_belo"),
        ("[fluenc]\nreject_below = 3\n", "fluenc"),
        ('[length]\nmin_words = "ten"\n', "length.min_words"),
        ("[critical]\nquarantine_at = 1.5\n", "critical.quarantine_at"),
    ],
)
def test_bad_policy_is_one_line_error_exit_2(tmp_path: Path, toml: str, named: str) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(toml)
    result = CliRunner().invoke(main, ["gate", "--explain", "--policy", str(policy)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtcheck: error:") and f"'{named}'" in lines[0]


# --- filters on hand-made reports ------------------------------------------------------------------


def test_clean_english_is_accepted() -> None:
    assert decide(report_of(), POLICY) == (ACCEPT, [])
    assert decide(report_of(GARBLED), POLICY) == (ACCEPT, [])  # no flags, good scores: the text alone passes


def test_too_short_is_quarantined() -> None:
    reason = too_short(report_of("Talks resumed on Monday in Geneva."), POLICY)
    assert reason and reason.decision == QUARANTINE and reason.code == "too-short"


def test_boilerplate_only_is_rejected() -> None:
    report = report_of("Leave a reply:\n\nYour email address will not be published.", fluency=None)
    assert report.article.words == 0
    reason = boilerplate_only(report, POLICY)
    assert reason and reason.decision == REJECT and reason.code == "boilerplate-only"
    assert reason.message == "nothing to score: the item holds only boilerplate"
    assert boilerplate_only(report_of(), POLICY) is None
    assert decide(report, POLICY)[0] == REJECT


@pytest.mark.parametrize(
    "foreign",
    [
        "미국과 러시아는 우크라이나 문제를 놓고 제네바에서 여덟 시간 동안 협상했지만 합의에 이르지 못했다. "
        "양측은 추가 협상을 이어가기로 했다.",
        "Россия и США провели переговоры в Женеве, но не смогли договориться. Стороны договорились продолжить диалог.",
    ],
)
def test_foreign_paragraph_is_quarantined_never_accepted(foreign: str) -> None:
    # The untranslated rule would flag this; the script share alone must catch it too.
    report = report_of(ENGLISH + "\n\n" + foreign)
    reason = language(report, POLICY)
    assert reason and reason.decision == QUARANTINE and reason.code == "not-english"
    assert "paragraph 2" in reason.message
    hit = report_of(
        ENGLISH + " Officials called it " + foreign[:24] + ".", flags=[flag(foreign[:24], "major", "untranslated")]
    )
    reason = language(hit, POLICY)
    assert reason and reason.decision == QUARANTINE and reason.code == "untranslated"
    assert decide(hit, POLICY)[0] == QUARANTINE


def test_a_foreign_word_is_tolerated() -> None:
    text = ENGLISH + " The word comes from the Greek ἔργον, meaning work."
    assert language(report_of(text, [flag("ἔργον", "major", "untranslated")]), POLICY) is None


def test_latin_script_foreign_language_is_quarantined() -> None:
    romanian = (
        "Guvernul a anunțat luni că salariul minim va crește cu cinci procente anul viitor. Sindicatele au salutat "
        "decizia, dar au spus că nu este suficientă pentru a ține pasul cu scumpirile. Opoziția acuză miniștrii."
    )
    reason = language(report_of(romanian), POLICY)
    assert reason and reason.decision == QUARANTINE and "common English words" in reason.message


def test_low_fluency_is_rejected_or_quarantined() -> None:
    reason = fluency(report_of(fluency=12.0), POLICY)
    assert reason and reason.decision == REJECT and reason.code == "low-fluency"
    reason = fluency(report_of(fluency=35.0), POLICY)
    assert reason and reason.decision == QUARANTINE
    assert fluency(report_of(fluency=75.0), POLICY) is None
    assert fluency(report_of(fluency=None), POLICY) is None  # not scored: nothing to judge by


def test_critical_flags_quote_the_garbled_spans() -> None:
    flags = [
        flag("NATO He will.", "critical"),
        flag("[to invade] By de-escalation", "critical"),
        flag("without a deal", "minor"),
        {**flag("The talks", "major"), "confidence": 0.99},
    ]
    report = report_of(GARBLED, flags)
    reason = critical_flags(report, POLICY)
    assert reason and reason.decision == QUARANTINE and reason.code == "critical-flags"
    assert "“NATO He will.” (critical)" in reason.message and "“[to invade] By de-escalation”" in reason.message
    assert "without a deal" not in reason.message  # minor flags are not quoted
    # the most severe first, however confident the less severe one is
    assert reason.message.index("By de-escalation”") < reason.message.index("“The talks” (major)")
    assert critical_flags(report_of(GARBLED, flags[:1]), POLICY).decision == QUARANTINE  # one is enough
    assert critical_flags(report_of(GARBLED, flags[2:]), POLICY) is None  # none: minor and major alone
    many = report_of(ENGLISH, [flag(p, "critical") for p in [*PHRASES, "Economists"]])
    assert many.scores.critical == 6 and critical_flags(many, POLICY).decision == REJECT


def test_flag_density_and_predicted_bad() -> None:
    majors = report_of(ENGLISH, [flag(p, "major") for p in PHRASES])  # 5 in 66 words
    assert majors.article.words == 66
    reason = flag_density(majors, POLICY)
    assert reason and reason.decision == REJECT and reason.code == "major-flag-density"
    assert reason.message.startswith("75.8 major flags per 1,000 words (limit 60): “government” (major)")
    reason = flag_density(report_of(ENGLISH, [flag(p, "major") for p in PHRASES[:3]]), POLICY)
    assert reason and reason.decision == QUARANTINE
    assert flag_density(report_of(ENGLISH, [flag("government", "major")]), POLICY) is None
    minors = report_of(ENGLISH, [flag(p, "minor") for p in PHRASES[:3]])
    assert flag_density(minors, POLICY) is None  # minor: off by default
    reason = predicted_bad(report_of(predicted=0.5), POLICY)
    assert reason and reason.decision == QUARANTINE and reason.code == "predicted-bad"
    assert predicted_bad(report_of(predicted=0.2), POLICY) is None


def test_bad_words_per_sentence_is_off_by_default_and_holds_back_when_set(tmp_path: Path) -> None:
    """The score head's mean count per sentence: off in the default policy (the worst fifth replaced it), a
    policy can still set its limits; no score, no opinion."""
    report = report_of(flags=[flag("government", "major")])

    def scored(value):
        return replace(report, scores=replace(report.scores, bad_words_per_sentence=value))

    assert DEFAULTS["bad_words_per_sentence"]["quarantine_above"] is False
    assert bad_words_per_sentence(scored(500.0), POLICY) is None
    (tmp_path / "on.toml").write_text("[bad_words_per_sentence]\nquarantine_above = 11.0\nreject_above = 20.0\n")
    policy = load_policy(tmp_path / "on.toml")
    reason = bad_words_per_sentence(scored(11.5), policy)
    assert reason and reason.decision == QUARANTINE and reason.code == "bad-words-per-sentence"
    assert "11.5 words in error expected per sentence" in reason.message
    assert "“government” (major)" in reason.message
    assert bad_words_per_sentence(scored(11.0), policy) is None  # strictly above
    assert bad_words_per_sentence(scored(None), policy) is None
    assert bad_words_per_sentence(scored(25.0), policy).decision == REJECT


def test_bad_words_worst_fifth_holds_back_what_reads_as_machine_translation_with_errors(tmp_path: Path) -> None:
    """The count a fifth of the sentences reach, against the default policy's limit: quoted flags, strictly
    above, reject when a policy asks, off when it says so; no score, no opinion."""
    limit = DEFAULTS["bad_words_worst_fifth"]["quarantine_above"]
    report = report_of(flags=[flag("government", "major")])

    def scored(value):
        return replace(report, scores=replace(report.scores, bad_words_worst_fifth=value))

    reason = bad_words_worst_fifth(scored(limit + 0.5), POLICY)
    assert reason and reason.decision == QUARANTINE and reason.code == "bad-words-worst-fifth"
    assert f"a fifth of its sentences are expected to hold {limit + 0.5:.1f} or more words in error" in reason.message
    assert "“government” (major)" in reason.message
    assert bad_words_worst_fifth(scored(limit), POLICY) is None  # strictly above
    assert bad_words_worst_fifth(scored(None), POLICY) is None
    assert decide(scored(limit + 0.5), POLICY)[0] == QUARANTINE
    assert "bad-words-worst-fifth" not in {r.code for r in decide(scored(limit), POLICY)[1]}
    (tmp_path / "strict.toml").write_text("[bad_words_worst_fifth]\nreject_above = 1.0\n")
    assert bad_words_worst_fifth(scored(1.5), load_policy(tmp_path / "strict.toml")).decision == REJECT
    (tmp_path / "off.toml").write_text("[bad_words_worst_fifth]\nquarantine_above = false\n")
    assert bad_words_worst_fifth(scored(limit + 5), load_policy(tmp_path / "off.toml")) is None


def test_decision_is_the_most_severe() -> None:
    decision, reasons = decide(report_of("Short text here.", fluency=10.0), POLICY)
    assert decision == REJECT and [r.decision for r in reasons] == [REJECT, QUARANTINE]
    assert [r.code for r in reasons] == ["low-fluency", "too-short"]


# --- the run, with a stand-in checker (bookkeeping, no model) ---------------------------------------


FAKE_MODEL = {"name": "fake", "sha256": "f" * 64}


class FakeChecker:
    """Reports of the article's text with chosen scores, as by a model named "fake"."""

    def __init__(self) -> None:
        self.calls = 0
        self.reports: dict[str, Report] = {}  # by article id (the gate's item id)

    def check(self, article) -> Report:
        self.calls += 1
        if "explode" in article.text:
            raise RuntimeError("tensor shape mismatch")
        report = replace(report_of(article.text, fluency=80.0), model=FAKE_MODEL)
        assert report.article.sha256 == article.sha256  # the stored report of this content
        self.reports[article.id] = report
        return report


def _gate(out: Path, checker: FakeChecker, policy=POLICY) -> FeedGate:
    return FeedGate(out, policy, "fake", "f" * 64, lambda: checker)


def _feed(n: int = 5) -> bytes:
    lines = [json.dumps({"id": f"n{i}", "title": f"Story {i}", "body": ENGLISH}) for i in range(n)]
    lines.insert(2, '{"id": "broken", "body": "no closing brace"')
    lines.insert(3, json.dumps({"id": "typed", "body": {"paragraphs": 3}}))
    lines.append(json.dumps({"id": "boom", "body": ENGLISH + " explode"}))
    return ("\n".join(lines) + "\n").encode()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_feed_bad_items_are_quarantined_and_the_run_goes_on(tmp_path: Path) -> None:
    checker = FakeChecker()
    gate = _gate(tmp_path, checker)
    tally = gate.run(iter_jsonl(io.BytesIO(_feed()), "feed.jsonl", "feed"))
    gate.close()
    assert tally.decided == {"accept": 5, "quarantine": 3, "reject": 0}
    quarantined = {r["mtcheck"]["id"]: r for r in _lines(tmp_path / "quarantined.jsonl")}
    assert set(quarantined) == {"feed-3", "typed", "boom"}
    assert quarantined["feed-3"]["raw"] == '{"id": "broken", "body": "no closing brace"'  # kept as raw text
    assert quarantined["feed-3"]["mtcheck"]["reasons"][0]["message"].startswith("line 3: not JSON")
    assert quarantined["typed"]["body"] == {"paragraphs": 3}  # the original item, untouched
    assert "no text field" in quarantined["typed"]["mtcheck"]["reasons"][0]["message"]
    assert quarantined["boom"]["mtcheck"]["reasons"][0]["code"] == "checker-error"
    assert "tensor shape mismatch" in quarantined["boom"]["mtcheck"]["reasons"][0]["message"]
    accepted = _lines(tmp_path / "accepted.jsonl")
    assert [r["id"] for r in accepted] == [f"n{i}" for i in range(5)]
    assert accepted[0]["mtcheck"]["scores"]["fluency"] == 80.0
    # The report file: the gate's record, then the report as `mtcheck check` writes it, key for key.
    written = json.loads((tmp_path / accepted[0]["mtcheck"]["report"]).read_text())
    report = checker.reports["n0"].to_json()
    assert written["schema"] == "mtcheck.report/1" and list(written) == ["gate", *report]
    assert {k: v for k, v in written.items() if k != "gate"} == report
    assert written["gate"] == {k: v for k, v in accepted[0]["mtcheck"].items() if k != "report"}
    audit = _lines(tmp_path / "audit.jsonl")
    assert len(audit) == 8 and {"id", "sha256", "source", "decision", "reasons", "scores", "policy_sha256"} <= set(
        audit[0]
    )
    assert audit[0]["model"] == {"name": "fake", "sha256": "f" * 64} and audit[0]["time"]


def test_second_run_skips_and_restart_recovers_without_duplicates(tmp_path: Path) -> None:
    checker = FakeChecker()
    gate = _gate(tmp_path, checker)
    gate.run(iter_jsonl(io.BytesIO(_feed()), "feed.jsonl", "feed"))
    gate.close()
    calls = checker.calls
    gate = _gate(tmp_path, checker)
    tally = gate.run(iter_jsonl(io.BytesIO(_feed()), "feed.jsonl", "feed"))
    gate.close()
    assert checker.calls == calls and sum(tally.skipped.values()) == 8 and sum(tally.decided.values()) == 0
    # A crash after the decision line but before the state line, and a half-written state line.
    state = tmp_path / "state.jsonl"
    lines = state.read_bytes().splitlines(keepends=True)
    state.write_bytes(b"".join(lines[:-2]) + lines[-2][:20])
    with open(tmp_path / "accepted.jsonl", "ab") as f:
        f.write(b'{"id": "half-writ')
    gate = _gate(tmp_path, checker)
    tally = gate.run(iter_jsonl(io.BytesIO(_feed()), "feed.jsonl", "feed"))
    gate.close()
    assert tally.recovered == 2 and checker.calls == calls  # found in the outputs, not checked again
    ids = [r["mtcheck"]["id"] for d in ("accepted", "quarantined", "rejected") for r in _lines(tmp_path / f"{d}.jsonl")]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 8
    assert len({(r["id"], r["sha256"]) for r in _lines(state)}) == 8
    audit = [(r["id"], r["sha256"]) for r in _lines(tmp_path / "audit.jsonl")]
    assert len(audit) == len(set(audit)) == 8  # the audit lines written before the "crash" are not repeated


def test_cut_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c":')
    assert cut_partial_line(path) and path.read_bytes() == b'{"a": 1}\n{"b": 2}\n'
    assert not cut_partial_line(path)


def test_folder_items_are_copied_with_reports_and_move_when_the_policy_changes(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    (feed / "sub").mkdir(parents=True)
    (feed / "a.txt").write_text("Wage rise\n\n" + ENGLISH, encoding="utf-8")
    (feed / "sub" / "b.txt").write_text("Short one.", encoding="utf-8")
    (feed / "c.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    before = {p: p.read_bytes() for p in feed.rglob("*") if p.is_file()}
    out = feed / "gated"  # inside the input folder: never gated itself
    checker = FakeChecker()
    gate = _gate(out, checker)
    tally = gate.run(iter_folder(feed, exclude=out))
    gate.close()
    assert tally.decided == {"accept": 1, "quarantine": 2, "reject": 0}
    assert (out / "accepted" / "a.txt").read_bytes() == before[feed / "a.txt"]
    report = json.loads((out / "accepted" / "a.txt.report.json").read_text())
    assert report["gate"]["decision"] == ACCEPT and report["schema"] == "mtcheck.report/1"
    assert (out / "quarantined" / "sub__b.txt").exists() and (out / "quarantined" / "c.txt").exists()
    assert {p: p.read_bytes() for p in feed.rglob("*") if p.is_file() and out not in p.parents} == before
    gate = _gate(out, checker)
    assert sum(gate.run(iter_folder(feed, exclude=out)).skipped.values()) == 3
    gate.close()
    strict = tmp_path / "strict.toml"
    strict.write_text("[fluency]\nquarantine_below = 90\n")
    calls = checker.calls
    gate = _gate(out, checker, load_policy(strict))
    assert gate.run(iter_folder(feed, exclude=out)).decided["quarantine"] == 3
    gate.close()
    assert checker.calls == calls  # re-decided from the stored report: no model needed
    assert not (out / "accepted" / "a.txt").exists() and (out / "quarantined" / "a.txt").exists()
    moved = json.loads((out / "quarantined" / "a.txt.report.json").read_text())
    assert moved["gate"]["decision"] == QUARANTINE and moved["gate"]["reasons"][0]["code"] == "low-fluency"
    # The stored report, read back and written again, is the same report.
    assert {k: v for k, v in moved.items() if k != "gate"} == {k: v for k, v in report.items() if k != "gate"}
    assert list(moved) == list(report)


# --- find-threshold ---------------------------------------------------------------------------------


def test_sweep_and_find_threshold_cli(tmp_path: Path) -> None:
    rows = sweep([(90.0, False), (80.0, False), (50.0, True), (30.0, True), (70.0, True)], high_is_bad=False)
    chosen = best(rows)
    assert chosen.threshold == 70.0 and chosen.precision == 1.0 and chosen.recall == 1.0
    data = tmp_path / "labelled.jsonl"
    items = [{"label": "bad" if f < 60 else "good", "scores": {"fluency": f}} for f in (90, 85, 75, 55, 40, 62)]
    data.write_text("".join(json.dumps(i) + "\n" for i in items))
    result = CliRunner().invoke(main, ["find-threshold", str(data), "--score", "fluency"])
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "best: not accepted when fluency <= 55" in result.output


# --- with the real model, in subprocesses -----------------------------------------------------------


def _mtcheck(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mtcheck", *args], capture_output=True, text=True, timeout=1800, cwd=ROOT, **kw
    )


@pytest.mark.model
def test_seeds_default_policy_and_incremental(tmp_path: Path) -> None:
    out = tmp_path / "gated"
    run = _mtcheck("gate", str(SEEDS), "--out", str(out))
    assert run.returncode == 1, run.stderr
    name = SEED_NEWS.name
    held = [d for d in ("quarantined", "rejected") if (out / d / name).exists()]
    assert held, run.stderr
    report = json.loads((out / held[0] / f"{name}.report.json").read_text())
    reasons = " ".join(r["message"] for r in report["gate"]["reasons"])
    assert "“NATO He will.”" in reasons and "By de-escalation" in reasons
    assert (out / held[0] / name).read_bytes() == SEED_NEWS.read_bytes()
    audit = _lines(out / "audit.jsonl")
    assert {a["id"] for a in audit} == {p.name for p in SEEDS.glob("*.txt")}
    assert all(a["model"]["sha256"] and a["policy_sha256"] == POLICY.sha256 for a in audit)
    again = _mtcheck("gate", str(SEEDS), "--out", str(out))
    assert again.returncode == 1 and "2 skipped" in again.stderr and "0 accepted, 0 quarantined" in again.stderr
    assert len(_lines(out / "audit.jsonl")) == 2


@pytest.mark.model
@pytest.mark.parametrize("jobs", [1, 2])
def test_kill_9_and_restart_decides_every_item_exactly_once(tmp_path: Path, jobs: int) -> None:
    """With one article at a time, and with two at once (`--jobs 2`: threads of the gate's own process share one
    model; the gate alone writes)."""
    sentences = [
        "The council approved the new budget on Tuesday after a long debate.",
        "Heavy rain caused flooding in several villages in the south of the country.",
        "The central bank kept interest rates unchanged for the third month in a row.",
    ]
    feed = tmp_path / "feed.jsonl"
    lines = [json.dumps({"id": f"item-{i:02d}", "body": sentences[i % 3]}) for i in range(30)]
    lines.insert(5, "this line is not JSON {")
    lines.insert(9, json.dumps({"id": "wrong-type", "body": ["paragraph", 2]}))
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    original = feed.read_bytes()
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mtcheck", "gate", str(feed), "--out", str(out), "--quiet", "--jobs", str(jobs)]
    state = out / "state.jsonl"
    proc = start_gate_and_wait(cmd, state, 8)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert children == []  # no worker process that could outlive the gate with a model in memory
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    decided_before = state.read_bytes().count(b"\n")
    assert 8 <= decided_before < 32
    rerun = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 1, rerun.stderr  # the malformed items are quarantined
    assert feed.read_bytes() == original  # the input is never touched
    ids = [r["mtcheck"]["id"] for d in ("accepted", "quarantined", "rejected") for r in _lines(out / f"{d}.jsonl")]
    expected = {f"item-{i:02d}" for i in range(30)} | {"feed-6", "wrong-type"}
    assert len(ids) == len(set(ids)) == 32 and set(ids) == expected
    recorded = [r["id"] for r in _lines(state)]
    assert len(recorded) == len(set(recorded)) and set(recorded) == expected
    quarantined = {r["mtcheck"]["id"]: r for r in _lines(out / "quarantined.jsonl")}
    assert quarantined["feed-6"]["raw"] == "this line is not JSON {"
    reason = quarantined["feed-6"]["mtcheck"]["reasons"][0]
    assert reason["code"] == "unreadable" and reason["message"].startswith("line 6: not JSON")
    assert quarantined["wrong-type"]["mtcheck"]["reasons"][0]["code"] == "unreadable"
    assert {a["id"] for a in _lines(out / "audit.jsonl")} == expected


@pytest.mark.model
def test_ten_thousand_items_stream_through_stdin_with_flat_memory(tmp_path: Path, tiny_model: Path) -> None:
    """10,000 small items piped in (generated on the fly, never held whole): each decided exactly once and the
    gate's resident memory flat once it runs. The tiny model keeps this minutes, not hours; the speed of the
    real model is bench/gate_stream.py's to measure."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mtcheck", "gate", "-", "--out", str(out), "--quiet", "--model", str(tiny_model)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    n = 10_000
    words = ["The council approved the budget on Tuesday.", "Rain flooded several villages in the south."]

    def feed() -> None:
        assert proc.stdin is not None
        for i in range(n):
            item = {"id": f"s{i}", "body": f"{words[i % 2]} Item {i} was filed by the desk in the evening."}
            proc.stdin.write((json.dumps(item) + "\n").encode())
        proc.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    rss: dict[int, int] = {}  # items decided -> resident KiB
    state = out / "state.jsonl"
    while proc.poll() is None:
        time.sleep(0.5)
        done = state.read_bytes().count(b"\n") if state.exists() else 0
        status = Path(f"/proc/{proc.pid}/status")
        try:
            kib = next(int(x.split()[1]) for x in status.read_text().splitlines() if x.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
        rss[done] = kib
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode in (0, 1), err
    ids = [r["mtcheck"]["id"] for d in ("accepted", "quarantined", "rejected") for r in _lines(out / f"{d}.jsonl")]
    assert len(ids) == len(set(ids)) == n
    assert len(_lines(state)) == n and len(_lines(out / "audit.jsonl")) == n
    early = [k for d, k in rss.items() if 1_000 <= d <= 2_000]
    late = [k for d, k in rss.items() if d >= 9_000]
    assert early and late, sorted(rss)[:5]
    # flat: the last thousand items cost no more than 40 MiB over the second thousand (the set of decided keys
    # grows by about 150 bytes an item, 1.2 MiB for 8,000)
    assert max(late) - max(early) < 40 * 1024, (max(early), max(late))
