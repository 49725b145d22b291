"""`mtcheck apply` and the feedback export: real files, the real command line, no browser."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from test_review import EDIT, EXPECTED, TEXT, Setup, run_mtcheck, write_report, write_setup

from mtcheck.evaluate.data import load
from mtcheck.reading.formats import read_file
from mtcheck.review.apply import apply_decisions
from mtcheck.review.decisions import SCHEMA, check_document, load_report, make_record


def decisions_doc(setup: Setup, **bodies: dict) -> dict:
    """A decisions document made the way the server makes it."""
    return {
        "schema": SCHEMA,
        "report": "article.json",
        "article_sha256": setup.report.article.sha256,
        "decisions": {fid: make_record(setup.report, fid, body) for fid, body in bodies.items()},
    }


STANDARD = {
    "f1": {"decision": "accept", "suggestion": 1},
    "f3": {"decision": "accept", "suggestion": 0},
    "f4": {"decision": "reject"},
    "f5": {"decision": "edit", "text": EDIT},
}


def write_decisions(setup: Setup, doc: dict, path: Path | None = None) -> Path:
    path = path or setup.decisions
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return write_setup(tmp_path)


def _one_error_line(result, needle: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtcheck: error: ") and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_apply_writes_corrected_text_and_change_log(setup: Setup) -> None:
    write_decisions(setup, decisions_doc(setup, **STANDARD))
    result = run_mtcheck("apply", str(setup.report_json), cwd=setup.root)  # default --out corrected/
    assert result.returncode == 0, result.stderr
    out = setup.root / "corrected"
    assert (out / "article.txt").read_text(encoding="utf-8") == EXPECTED
    log = [json.loads(line) for line in (out / "article.changes.jsonl").read_text().splitlines()]
    assert [(c["flag"], c["before"], c["after"]) for c in log] == [
        ("f1", ".", ","),
        ("f3", " He", ""),
        ("f5", "soon soon", EDIT),
    ]
    for c in log:  # new offsets point at the reading in the corrected text
        assert EXPECTED[c["new_start"] : c["new_end"]] == c["after"]
        assert TEXT[c["start"] : c["end"]] == c["before"]
    assert setup.article.read_text(encoding="utf-8") == TEXT
    assert oct((out / "article.txt").stat().st_mode & 0o777) != oct(0o600)  # not a private temp file


def test_rejected_and_open_flags_change_nothing(setup: Setup) -> None:
    doc = decisions_doc(setup, f1={"decision": "reject"}, f4={"decision": "reject"})
    write_decisions(setup, doc)
    result = run_mtcheck("apply", str(setup.report_json), "--out", "out", cwd=setup.root)
    assert result.returncode == 0, result.stderr
    assert (setup.root / "out" / "article.txt").read_text(encoding="utf-8") == TEXT
    assert (setup.root / "out" / "article.changes.jsonl").read_text() == ""
    assert "applied 0 decisions (2 rejected, 3 open, 0 skipped)" in result.stderr


def test_refuses_an_article_changed_since_the_check(setup: Setup) -> None:
    write_decisions(setup, decisions_doc(setup, **STANDARD))
    setup.article.write_text(TEXT.replace("Geneva", "Lausanne"), encoding="utf-8")
    result = run_mtcheck("apply", str(setup.report_json), "--out", "out", cwd=setup.root)
    _one_error_line(result, "changed since the check")
    assert not (setup.root / "out").exists()


def test_refuses_decisions_for_another_article_text(setup: Setup) -> None:
    doc = decisions_doc(setup, **STANDARD)
    doc["article_sha256"] = "0" * 64
    exported = write_decisions(setup, doc, setup.root / "exported.json")
    result = run_mtcheck("apply", str(setup.report_json), "--decisions", str(exported), cwd=setup.root)
    _one_error_line(result, "another version of the article")
    assert not (setup.root / "corrected").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{broken", "invalid JSON"),
        ('{"schema": "other"}', "not a decisions file"),
        (None, "no decisions yet"),
    ],
)
def test_bad_decisions_files_fail_plainly(setup: Setup, content: str | None, needle: str) -> None:
    if content is not None:
        setup.decisions.write_text(content)
    result = run_mtcheck("apply", str(setup.report_json), cwd=setup.root)
    _one_error_line(result, needle)


def test_the_report_is_read_back_typed(setup: Setup) -> None:
    report = load_report(setup.report_json)
    assert report == setup.report
    assert report.flag("f1").suggestions[1].replacement == ","


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such report"),
        ("{broken", "invalid JSON"),
        ("[1, 2]", "not a report"),
        ('{"schema": "other/1"}', "not an mtcheck report"),
        ('{"schema": "mtcheck.report/9"}', "is newer than this mtcheck reads"),
        ('{"schema": "mtcheck.report/1", "flags": []}', "not a valid mtcheck.report/1 report"),
        ("no sha256", "report has no article sha256"),
        ("flag without a span", "not a valid mtcheck.report/1 report"),
    ],
)
def test_bad_report_files_fail_plainly(setup: Setup, content: str | None, needle: str) -> None:
    write_decisions(setup, decisions_doc(setup, **STANDARD))
    data = setup.report.to_json()
    if content is None:
        setup.report_json.unlink()
    elif content == "no sha256":
        setup.report_json.write_text(json.dumps(data | {"article": data["article"] | {"sha256": ""}}))
    elif content == "flag without a span":
        flags = [{k: v for k, v in data["flags"][0].items() if k != "start"}]
        setup.report_json.write_text(json.dumps(data | {"flags": flags}))
    else:
        setup.report_json.write_text(content)
    result = run_mtcheck("apply", str(setup.report_json), cwd=setup.root)
    _one_error_line(result, needle)
    assert str(setup.report_json) in result.stderr  # the message names the file
    assert not (setup.root / "corrected").exists()


def test_tampered_decision_is_refused(setup: Setup) -> None:
    doc = decisions_doc(setup, **STANDARD)
    doc["decisions"]["f3"]["text"] = "something the report never proposed"
    write_decisions(setup, doc)
    result = run_mtcheck("apply", str(setup.report_json), cwd=setup.root)
    _one_error_line(result, "does not match suggestion 0")


def test_never_overwrites_the_original_without_in_place(setup: Setup) -> None:
    write_decisions(setup, decisions_doc(setup, **STANDARD))
    result = run_mtcheck("apply", str(setup.report_json), "--out", str(setup.article.parent), cwd=setup.root)
    _one_error_line(result, "is the original article")
    assert setup.article.read_text(encoding="utf-8") == TEXT
    os.chmod(setup.article, 0o640)
    result = run_mtcheck("apply", str(setup.report_json), "--in-place", "--out", "logs", cwd=setup.root)
    assert result.returncode == 0, result.stderr
    assert setup.article.read_text(encoding="utf-8") == EXPECTED
    assert setup.article.stat().st_mode & 0o777 == 0o640
    assert (setup.root / "logs" / "article.changes.jsonl").exists()
    assert not (setup.root / "logs" / "article.txt").exists()
    # the report now describes an older text: applying again is refused
    _one_error_line(run_mtcheck("apply", str(setup.report_json), cwd=setup.root), "changed since the check")


def test_overlapping_decisions_apply_in_order_and_warn(setup: Setup) -> None:
    doc = decisions_doc(setup, **STANDARD)
    # an edit of f1's whole span overlaps the accepted comma inside it: the first in reading order wins
    f1 = setup.report.flag("f1")
    doc["decisions"]["f1"] = make_record(setup.report, "f1", {"decision": "edit", "text": "Wednesday between"})
    start, end = f1.start + 5, f1.end + 3
    extra = replace(f1, id="f6", start=start, end=end, text=TEXT[start:end])
    report = setup.report.with_flags([*setup.report.flags, extra])
    write_report(setup.reports, "article", report)
    doc["decisions"]["f6"] = make_record(report, "f6", {"decision": "edit", "text": "X"})
    write_decisions(setup, doc)
    result = run_mtcheck("apply", str(setup.report_json), "--out", "out", cwd=setup.root)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("mtcheck: warning:")]
    assert len(warnings) == 1 and "flag f6" in warnings[0] and "overlaps flag f1" in warnings[0]
    assert "Traceback" not in result.stderr
    expected = EXPECTED.replace("Wednesday, between", "Wednesday between")
    assert (setup.root / "out" / "article.txt").read_text(encoding="utf-8") == expected
    log = (setup.root / "out" / "article.changes.jsonl").read_text().splitlines()
    assert [json.loads(line)["flag"] for line in log] == ["f1", "f3", "f5"]


def test_apply_from_the_report_when_the_article_is_gone(setup: Setup) -> None:
    write_decisions(setup, decisions_doc(setup, **STANDARD))
    setup.article.unlink()
    result = run_mtcheck("apply", str(setup.report_json), "--out", "out", cwd=setup.root)
    assert result.returncode == 0, result.stderr
    assert "is no longer there; applying to the article text in the report" in result.stderr
    assert (setup.root / "out" / "article.txt").read_text(encoding="utf-8") == EXPECTED


def test_txt_keeps_its_encoding_and_newlines(tmp_path: Path) -> None:
    text = TEXT.replace("Talks end", "Talks end – café")
    raw = text.replace("\n", "\r\n").encode("cp1252")
    setup = write_setup(tmp_path, text=text, raw=raw, encoding="cp1252")
    write_decisions(setup, decisions_doc(setup, **STANDARD))
    result = run_mtcheck("apply", str(setup.report_json), "--out", "out", cwd=setup.root)
    assert result.returncode == 0, result.stderr
    expected = EXPECTED.replace("Talks end", "Talks end – café")
    assert (setup.root / "out" / "article.txt").read_bytes() == expected.replace("\n", "\r\n").encode("cp1252")


def test_markdown_gives_plain_text_and_no_in_place(tmp_path: Path) -> None:
    markdown = ("# " + TEXT.replace("Russia", "[Russia](https://example.org/ru)")).encode()
    probe = tmp_path / "probe.md"
    probe.write_bytes(markdown)
    text = read_file(probe)[0].text  # the report's text is what the reader made of the markdown
    assert text == TEXT.rstrip("\n")
    setup = write_setup(tmp_path, text=text, suffix=".md", raw=markdown)
    write_decisions(setup, decisions_doc(setup, **STANDARD))
    _one_error_line(run_mtcheck("apply", str(setup.report_json), "--in-place", cwd=setup.root), "only for .txt")
    result = run_mtcheck("apply", str(setup.report_json), "--out", "out", cwd=setup.root)
    assert result.returncode == 0, result.stderr
    assert (setup.root / "out" / "article.txt").read_text(encoding="utf-8") == EXPECTED.rstrip("\n")
    assert setup.article.read_bytes() == markdown


def test_apply_decisions_unit_zero_width_and_adjacent(setup: Setup) -> None:
    """Adjacent spans are not overlaps; offsets of later changes shift by the earlier ones."""
    doc = check_document(decisions_doc(setup, **STANDARD), setup.report, "test")
    result = apply_decisions(setup.report, doc)
    assert result.text == EXPECTED and result.warnings == [] and result.rejected == 1 and result.open == 1


# --- feedback export --------------------------------------------------------------------------------


def test_feedback_export_is_read_by_evaldata(setup: Setup) -> None:
    write_decisions(setup, decisions_doc(setup, **STANDARD))
    out = setup.root / "feedback.jsonl"
    result = run_mtcheck("review", "export", str(setup.reports), "--out", str(out), cwd=setup.root)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["flag_ids"], x["decisions"]) for x in lines] == [
        (["f1"], {"f1": "accept"}),
        (["f3"], {"f3": "accept"}),
        (["f4"], {"f4": "reject"}),
        (["f5"], {"f5": "edit"}),
    ]
    assert all(x["source"] == "mtcheck-review" and x["report"] == "article.json" for x in lines)
    first = lines[0]
    assert first["mt_tok"] == "The ministers met on Wednesday . between Russia and the US in Geneva ."
    assert first["pe_tok"] == "The ministers met on Wednesday , between Russia and the US in Geneva ."
    assert first["mt_word_tags"] == ["OK"] * 4 + ["BAD"] * 3 + ["OK"] * 7
    assert lines[1]["mt_word_tags"] == ["BAD"] * 3 + ["OK"] * 6
    assert lines[2]["mt_word_tags"] == ["OK"] * len(lines[2]["mt_tok"].split())  # a false alarm
    assert lines[2]["mt_tok"] == lines[2]["pe_tok"]
    assert lines[3]["pe_tok"] == "The sides agreed to meet again within a month ."

    items = load(out)
    assert [i.text for i in items] == [
        "The ministers met on Wednesday. between Russia and the US in Geneva.",
        "NATO He will no longer accept new members.",
        "Officials said the talks were currently blocked by about 100,000 troops.",
        "The sides agreed to meet again soon soon.",
    ]
    assert [i.post_edit for i in items] == [
        "The ministers met on Wednesday, between Russia and the US in Geneva.",
        "NATO will no longer accept new members.",
        "Officials said the talks were currently blocked by about 100,000 troops.",
        "The sides agreed to meet again within a month.",
    ]
    assert sum(items[0].tags) == 3 and not any(items[2].tags)
    # the top-level alias writes the same file
    again = setup.root / "again.jsonl"
    result = run_mtcheck("export-feedback", str(setup.reports), "--out", str(again), cwd=setup.root)
    assert result.returncode == 0 and again.read_text() == out.read_text()


# --- one report made by the real tool -----------------------------------------------------------------

SMALL = (
    "Talks end without progress\n\n"
    "The ministers met on Wednesday. between Russia and the US in Geneva. NATO He will no longer accept new "
    "members.\n\nThe sides agreed to meet again soon soon.\n"
)


@pytest.mark.model
def test_real_report_reviewed_through_the_api_then_applied(checker, tmp_path: Path) -> None:
    """A short article through the real pipeline (about a minute on a CPU), decided through the real server."""
    from test_review import request, running

    from mtcheck.reading.formats import read_file
    from mtcheck.report.writer import ReportWriter

    article = tmp_path / "small.txt"
    article.write_text(SMALL, encoding="utf-8")
    writer = ReportWriter(tmp_path / "reports")
    writer.write(checker.check(read_file(article)[0]))
    writer.finish()
    report = load_report(tmp_path / "reports" / "small.json")
    assert report.flags, "the real detector finds nothing in this article any more"
    sha = report.article.sha256
    expected = []
    with running(tmp_path / "reports") as srv:
        assert request(srv, "GET", "/small.html")[0] == 200
        for f in report.flags:
            body = {"decision": "accept", "suggestion": 0} if f.suggestions else {"decision": "reject"}
            status, answer = request(srv, "PUT", f"/api/decisions/small/{f.id}", {**body, "article_sha256": sha})
            assert status == 200, answer
            if f.suggestions:
                expected.append(f.suggestions[0])
    # what apply must do: the first suggestion of each flag, in order, skipping overlaps
    text, cursor, pieces = report.text, 0, []
    for s in sorted(expected, key=lambda s: (s.start, s.end)):
        if s.start >= cursor:
            pieces += [text[cursor : s.start], s.replacement]
            cursor = s.end
    corrected = "".join(pieces) + text[cursor:]
    result = run_mtcheck("apply", str(tmp_path / "reports" / "small.json"), "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "small.txt").read_text(encoding="utf-8") == corrected
    assert article.read_text(encoding="utf-8") == SMALL
    result = run_mtcheck("review", "export", "reports", "--out", "fb.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert load(tmp_path / "fb.jsonl")
