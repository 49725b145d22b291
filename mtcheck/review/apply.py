"""Apply an editor's decisions to the article: the corrected text plus a change log.

Offsets in decisions point into the report's `article.text`, so they are only meaningful for that exact
text: decisions for another sha256 are refused, and so is an article file that changed since the check.
What is written:

- `.txt` articles: the corrected text, in the file's own encoding, newline style and byte-order mark
  (UTF-8 when a typed reading cannot be encoded in the original legacy encoding).
- `.md`, `.html`, `.json`, `.jsonl` articles: the report text is derived (markup stripped, feed fields
  joined), so the corrected *plain text* is written as `<name>.txt`; markup that was never read is never
  written back, and `--in-place` is refused for them.
"""

from __future__ import annotations

import codecs
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.files import atomic_write
from mtcheck.core.report import Report
from mtcheck.reading.formats import read_articles
from mtcheck.reading.inputs import read_input, shown
from mtcheck.review.decisions import flags_by_id

_FIXES = ("accept", "edit")


@dataclass(frozen=True)
class Result:
    text: str
    changes: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejected: int = 0
    open: int = 0


def apply_decisions(report: Report, doc: dict) -> Result:
    """Apply accepted and edited readings in reading order (`doc` is checked by `check_document`).

    A decision whose span overlaps one already applied is skipped with a warning: its offsets no longer
    describe the text it was made for.
    """
    text = report.text
    flags = flags_by_id(report)
    order = {fid: i for i, fid in enumerate(flags)}
    decisions: dict[str, dict] = doc["decisions"]
    fixes = sorted(
        ((fid, d) for fid, d in decisions.items() if d["decision"] in _FIXES),
        key=lambda kv: (kv[1]["start"], kv[1]["end"], order.get(kv[0], 0)),
    )
    pieces: list[str] = []
    changes: list[dict] = []
    warnings: list[str] = []
    cursor = 0  # end of the last applied span in the original text
    shift = 0  # length difference so far: new offset = old offset + shift
    last: tuple[str, int, int] | None = None
    for fid, d in fixes:
        start, end, after = d["start"], d["end"], d["text"]
        if last is not None and start < cursor:
            warnings.append(
                f"flag {fid} ({start}–{end}) overlaps flag {last[0]} ({last[1]}–{last[2]}), which was applied "
                "first; not applied"
            )
            continue
        pieces.append(text[cursor:start])
        pieces.append(after)
        changes.append(
            {
                "flag": fid,
                "decision": d["decision"],
                "suggestion": d["suggestion"],
                "start": start,
                "end": end,
                "before": text[start:end],
                "after": after,
                "new_start": start + shift,
                "new_end": start + shift + len(after),
                "who": d.get("who"),
                "when": d.get("when"),
            }
        )
        shift += len(after) - (end - start)
        cursor = end
        last = (fid, start, end)
    pieces.append(text[cursor:])
    return Result(
        text="".join(pieces),
        changes=changes,
        warnings=warnings,
        rejected=sum(1 for d in decisions.values() if d["decision"] == "reject"),
        open=sum(1 for fid in flags if fid not in decisions),
    )


# --- the article on disk ----------------------------------------------------------------------------


def source_file(report: Report) -> Path:
    """The file the article came from (feed items: the feed file)."""
    return Path(str(report.article.path or "").partition("#")[0])


def check_source(report: Report) -> Article | None:
    """The article as its file reads now, when the file is still there and unchanged; None when it is gone.

    Raises MtcheckError when it changed since the check (its text no longer has the report's sha256). What is
    written back is decided from this reading of the file (its format, encoding), never from the report's word.
    """
    article = report.article
    path = source_file(report)
    if not str(path) or str(path) == "." or not os.path.lexists(path):
        return None
    found: Article | None = None
    for item in read_articles(path):
        if isinstance(item, InputError):
            if item.path in (article.path, shown(path)):
                raise MtcheckError(f"cannot re-read {article.path} to check it is unchanged: {item.cause}")
            continue
        if item.path == article.path:
            found = item
            break
    if found is None:
        raise MtcheckError(f"{article.path} changed since the check: the article is no longer in {path}")
    if found.sha256 != article.sha256:
        raise MtcheckError(
            f"{article.path} changed since the check (sha256 {found.sha256[:12]}…, the report has "
            f"{article.sha256[:12]}…); check it again before applying decisions"
        )
    return found


def corrected_name(report: Report, name: str, source_format: str) -> str:
    """`.txt` keeps its file name; derived formats become `<name>.txt` (plain text, see module doc)."""
    if source_format == "txt":
        return source_file(report).name or f"{name}.txt"
    return f"{name}.txt"


def encode_like_source(report: Report, text: str, source: Article | None) -> tuple[bytes, str | None]:
    """Bytes in the source file's encoding, newline style and BOM; a note when that was not possible."""
    if source is None or source.source_format != "txt":
        return text.encode("utf-8"), None
    raw = read_input(source_file(report))
    if b"\r\n" in raw or b"\r\x00\n\x00" in raw or b"\x00\r\x00\n" in raw:
        text = text.replace("\n", "\r\n")
    encoding = str(source.encoding or "utf-8")
    if encoding in ("utf-8", "utf-8-sig"):
        return (codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b"") + text.encode("utf-8"), None
    try:
        return text.encode(encoding), None  # utf-16/utf-32 write their own byte-order mark
    except (UnicodeEncodeError, LookupError):
        return text.encode("utf-8"), f"the corrected text cannot be encoded as {encoding}; written as UTF-8"


@dataclass(frozen=True)
class Written:
    corrected: Path
    log: Path
    result: Result
    notes: list[str]


def apply_to_files(
    report: Report, name: str, doc: dict, out_dir: Path, in_place: bool = False, report_ref: str = ""
) -> Written:
    """Check the source, apply, write the corrected article and `<name>.changes.jsonl`."""
    notes: list[str] = []
    found = check_source(report)
    present = found is not None
    source = source_file(report)
    # the format as the file reads now: a report that says "txt" for an .html file must not get its markup replaced
    source_format = found.source_format if found is not None else report.article.format
    if in_place and (source_format != "txt" or report.article.format != "txt"):
        raise MtcheckError(
            f"--in-place works only for .txt articles; {source} reads as {source_format} "
            "(its markup was never read, so it cannot be written back)"
        )
    if not present:
        notes.append(f"{report.article.path} is no longer there; applying to the article text in the report")
    if in_place:
        if not present:
            raise MtcheckError(f"--in-place: {source} is no longer there")
        target = source
    else:
        target = out_dir / corrected_name(report, name, source_format)
        if present and target.resolve() == source.resolve():
            raise MtcheckError(f"{target} is the original article; use --in-place to overwrite it, or another --out")
    result = apply_decisions(report, doc)
    data, note = encode_like_source(report, result.text, found)
    if note:
        notes.append(note)
    log = out_dir / f"{name}.changes.jsonl"
    if present and log.resolve() == source.resolve():
        raise MtcheckError(f"{log} is the original article; choose another --out")
    atomic_write(target, data, like=source if in_place else None)
    lines = [
        json.dumps({**change, "report": report_ref or f"{name}.json"}, ensure_ascii=False) + "\n"
        for change in result.changes
    ]
    atomic_write(log, "".join(lines).encode("utf-8"))
    return Written(target, log, result, notes)
