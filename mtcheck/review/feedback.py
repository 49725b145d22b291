"""Reviewed flags as training and calibration data in the `../shared/eval/` JSONL format.

One line per reviewed stretch of text (a sentence, or the sentences a decided flag spans): `mt_tok` (the
original tokenised Moses-style), `mt_word_tags` (BAD for tokens inside accepted or edited flags and inside
the span their reading replaced, OK for tokens inside rejected flags and everywhere else), `pe_tok` (the
same stretch with the accepted and edited readings applied). Rejected flags are kept: they are the false
alarms a detector has to learn to avoid. `mtcheck.evaluate.data.load` reads the file back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mtcheck.core.errors import MtcheckError
from mtcheck.core.report import Report
from mtcheck.review.decisions import flags_by_id, load_decisions, load_report

SOURCE = "mtcheck-review"
_FIXES = ("accept", "edit")

# Moses-style split: words (with inner hyphens), numbers with separators, abbreviations like "U.S.",
# clitics ("'s", "n't" stays with its apostrophe), "..." and every other punctuation mark on its own.
_TOKEN_RE = re.compile(
    r"(?:[A-Za-z]\.){2,}"
    r"|\d+(?:[.,:]\d+)+"
    r"|(?<=\w)['’]\w+"
    r"|\w+(?:-\w+)*"
    r"|\.\.\.|…"
    r"|[^\w\s]"
)


def tokenize(text: str) -> list[tuple[int, int]]:
    """Token spans of `text`; the tokens joined by spaces are the `mt_tok`/`pe_tok` string."""
    return [m.span() for m in _TOKEN_RE.finditer(text)]


def _escape(token: str) -> str:
    # evaldata.load HTML-unescapes tokens (MQM files carry Moses escapes): keep "&" and "<EOS>" literal.
    return token.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tok_string(text: str) -> str:
    return " ".join(_escape(text[s:e]) for s, e in tokenize(text))


def _units(report: Report, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sentences (segments) each span touches, merged where they share text."""
    text = report.text
    segments = [(s.start, s.end) for s in report.segments if isinstance(s.start, int) and isinstance(s.end, int)]
    found: list[tuple[int, int]] = []
    for start, end in spans:
        touching = [(a, b) for a, b in segments if a < max(end, start + 1) and b > start]
        if touching:
            found.append((min(a for a, _ in touching), max(b for _, b in touching)))
        else:  # no segmentation in the report: the line around the span
            a = text.rfind("\n", 0, start) + 1
            b = text.find("\n", end)
            found.append((a, len(text) if b < 0 else b))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(found):
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def feedback_lines(report: Report, doc: dict, report_name: str) -> list[dict]:
    """Eval-format lines for one report's decisions (`doc` is checked by `check_document`)."""
    text = report.text
    flags = flags_by_id(report)
    decided = {fid: d for fid, d in doc["decisions"].items() if fid in flags}
    if not decided:
        return []
    # flag id -> the characters it covers, flag and replacement
    zones = {fid: (min(flags[fid].start, d["start"]), max(flags[fid].end, d["end"])) for fid, d in decided.items()}
    lines = []
    for us, ue in _units(report, list(zones.values())):
        ids = [fid for fid, (a, b) in zones.items() if a < ue and max(b, a + 1) > us]
        bad = [zones[fid] for fid in ids if decided[fid]["decision"] in _FIXES]
        sentence = text[us:ue]
        spans = tokenize(sentence)
        tags = ["BAD" if any(us + s < b and us + e > a for a, b in bad) else "OK" for s, e in spans]
        # the post-edit: fixes inside this stretch, in order, a later overlapping one skipped (as `apply`)
        fixes = sorted(
            (decided[fid] for fid in ids if decided[fid]["decision"] in _FIXES),
            key=lambda d: (d["start"], d["end"]),
        )
        pieces, cursor = [], us
        for d in fixes:
            if d["start"] < cursor or d["end"] > ue:
                continue
            pieces += [text[cursor : d["start"]], d["text"]]
            cursor = d["end"]
        pieces.append(text[cursor:ue])
        lines.append(
            {
                "mt_tok": " ".join(_escape(sentence[s:e]) for s, e in spans),
                "mt_word_tags": tags,
                "pe_tok": _tok_string("".join(pieces)),
                "source": SOURCE,
                "report": f"{report_name}.json",
                "article_sha256": report.article.sha256,
                "sentence_start": us,
                "sentence_end": ue,
                "flag_ids": ids,
                "decisions": {fid: decided[fid]["decision"] for fid in ids},
            }
        )
    return lines


def export_feedback(paths: list[Path]) -> tuple[list[dict], list[str]]:
    """Lines for every `<name>.decisions.json` in the given folders (or next to the given reports).

    Returns (lines, notes); a decisions file that does not fit its report is skipped with a note.
    """
    pairs: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            for dec in sorted(path.glob("*.decisions.json")):
                pairs.append((path / (dec.name[: -len(".decisions.json")] + ".json"), dec))
        elif path.is_file() and path.name.endswith(".json") and not path.name.endswith(".decisions.json"):
            pairs.append((path, path.with_name(path.name[: -len(".json")] + ".decisions.json")))
        else:
            raise MtcheckError(f"{path}: not a reports folder or a report .json")
    lines: list[dict] = []
    notes: list[str] = []
    for report_path, dec_path in pairs:
        if not dec_path.is_file():
            notes.append(f"{report_path}: not reviewed (no {dec_path.name})")
            continue
        try:
            report = load_report(report_path)
            doc = load_decisions(dec_path, report)
        except MtcheckError as exc:
            notes.append(f"skipped: {exc}")
            continue
        lines += feedback_lines(report, doc, report_path.name[: -len(".json")])
    return lines, notes


def dumps_lines(lines: list[dict]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
