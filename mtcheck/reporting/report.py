"""Build the `mtcheck.report/1` JSON (docs/report-schema.md) and write reports atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from ..document import Article
from ..fluency import Fluency
from .html import render_article, render_index

SCHEMA = "mtcheck.report/1"


def build_report(article: Article, detection, fluency: Fluency, model: dict, settings: dict) -> dict:
    flags = detection.flags
    bad = [b for b in detection.segment_bad if b is not None]
    scored_chars = sum(s.end - s.start for s in article.segments if s.scored) or 1
    covered = _covered_chars(flags, article)
    counts = {sev: sum(1 for f in flags if f.severity == sev) for sev in ("critical", "major", "minor")}
    return {
        "schema": SCHEMA,
        "tool": {"name": "mtcheck", "version": __version__},
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "article": {
            "path": article.path,
            "id": article.id,
            "title": article.title or _first_segment_text(article, "title"),
            "url": article.url,
            "format": article.source_format,
            "encoding": article.encoding,
            "encoding_note": article.encoding_note,
            "sha256": article.sha256,
            "words": len(re.findall(r"\S+", " ".join(article.segment_text(s) for s in article.segments if s.scored))),
            "text": article.text,
        },
        "model": model,
        "settings": settings,
        "scores": {
            "fluency": fluency.article,
            "mean_surprisal": fluency.mean_surprisal,
            "flagged_share": round(covered / scored_chars, 4),
            "predicted_bad": round(sum(bad) / len(bad), 4) if bad else None,
            "flags": len(flags),
            **counts,
        },
        "calibration": fluency.description,
        "paragraphs": fluency.paragraphs,
        "segments": [
            {"start": s.start, "end": s.end, "kind": s.kind, "paragraph": s.paragraph, **f, "predicted_bad": b}
            for s, f, b in zip(article.segments, fluency.segments, detection.segment_bad, strict=True)
        ],
        "flags": [flag.to_json(f"f{i + 1}") for i, flag in enumerate(flags)],
    }


def _first_segment_text(article: Article, kind: str) -> str | None:
    for s in article.segments:
        if s.kind == kind:
            return article.segment_text(s)
    return None


def _covered_chars(flags: list, article: Article) -> int:
    covered = set()
    for f in flags:
        covered.update(range(f.start, f.end))
    return len(covered)


def write_atomic(path: Path, content: str) -> None:
    """Write to a temporary file beside the target, then rename: readers never see half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary_of(report: dict, name: str) -> dict:
    scores = report["scores"]
    return {
        "name": name,
        "path": report["article"]["path"],
        "id": report["article"]["id"],
        "title": report["article"]["title"],
        "fluency": scores["fluency"],
        "flags": scores["flags"],
        "critical": scores["critical"],
        "major": scores["major"],
        "minor": scores["minor"],
        "words": report["article"]["words"],
        "report_json": f"{name}.json",
        "report_html": f"{name}.html",
    }


class ReportWriter:
    """Writes `<name>.json` and `<name>.html` per article, then `index.html` and `summary.jsonl`."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.summaries: list[dict] = []
        self.failures: list[dict] = []
        self._names: set[str] = set()

    def name_for(self, article_path: str, article_id: str) -> str:
        path, _, item = article_path.partition("#")
        stem = Path(path).stem
        base = (
            f"{stem}-{article_id}"
            if item and article_id and article_id != stem
            else (f"{stem}-{item}" if item else stem)
        )
        base = re.sub(r"[^\w.\-]+", "_", base).strip("._") or "article"
        name, n = base, 2
        while name in self._names:
            name, n = f"{base}-{n}", n + 1
        self._names.add(name)
        return name

    def write(self, report: dict) -> dict:
        name = self.name_for(report["article"]["path"], report["article"]["id"])
        write_atomic(self.out_dir / f"{name}.json", json.dumps(report, ensure_ascii=False, indent=1))
        write_atomic(self.out_dir / f"{name}.html", render_article(report))
        summary = summary_of(report, name)
        self.summaries.append(summary)
        return summary

    def fail(self, path: str, error: str) -> None:
        self.failures.append({"path": path, "error": error})

    def finish(self) -> None:
        lines = [json.dumps(s, ensure_ascii=False) for s in self.summaries + self.failures]
        write_atomic(self.out_dir / "summary.jsonl", "".join(line + "\n" for line in lines))
        write_atomic(self.out_dir / "index.html", render_index(self.summaries, self.failures))
