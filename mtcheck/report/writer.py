"""Write the reports of a run: `<name>.json` and `<name>.html` per article, `index.html` and `summary.jsonl`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mtcheck.core.files import atomic_write
from mtcheck.core.report import Report
from mtcheck.report.html import render_article, render_index


def summary_of(report: Report, name: str) -> dict:
    """A report's line in `summary.jsonl` and the index."""
    scores = report.scores
    return {
        "name": name,
        "path": report.article.path,
        "id": report.article.id,
        "title": report.article.title,
        "fluency": scores.fluency,
        "bad_words_per_sentence": scores.bad_words_per_sentence,
        "bad_words_worst_fifth": scores.bad_words_worst_fifth,
        "flags": scores.flags,
        "critical": scores.critical,
        "major": scores.major,
        "minor": scores.minor,
        "words": report.article.words,
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

    def write(self, report: Report) -> dict:
        name = self.name_for(report.article.path, report.article.id)
        atomic_write(self.out_dir / f"{name}.json", json.dumps(report.to_json(), ensure_ascii=False, indent=1))
        atomic_write(self.out_dir / f"{name}.html", render_article(report))
        summary = summary_of(report, name)
        self.summaries.append(summary)
        return summary

    def fail(self, path: str, error: str) -> None:
        self.failures.append({"path": path, "error": error})

    def finish(self) -> None:
        lines = [json.dumps(s, ensure_ascii=False) for s in self.summaries + self.failures]
        atomic_write(self.out_dir / "summary.jsonl", "".join(line + "\n" for line in lines))
        atomic_write(self.out_dir / "index.html", render_index(self.summaries, self.failures))
