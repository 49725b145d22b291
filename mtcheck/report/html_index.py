"""``index.html``: the sortable table of all articles of a run, and the inputs that failed."""

from __future__ import annotations

from mtcheck.report.html_common import e, fluency_class, fmt, inline, num, page, safe_href

_COLUMNS = (
    ("title", "Title", "text"),
    ("path", "Path", "text"),
    ("fluency", "Fluency", "num"),
    ("flags", "Flags", "num"),
    ("critical", "Critical", "num"),
    ("major", "Major", "num"),
    ("minor", "Minor", "num"),
    ("words", "Words", "num"),
)


def render_index(summaries: list[dict], failures: list[dict]) -> str:
    """``index.html``: a sortable table of all articles of a run, plus the inputs that failed.

    summaries: the lines of ``summary.jsonl`` (`mtcheck.report.writer.summary_of`); failures: {path, error}."""
    rows = []
    fluencies = []
    for s in summaries:
        title = s.get("title") or s.get("name") or s.get("id") or s.get("path") or "Untitled"
        href = safe_href(s.get("report_html"))
        title_html = f'<a href="{e(href)}">{e(title)}</a>' if href else e(title)
        fluency = num(s.get("fluency"))
        if fluency is not None:
            fluencies.append(fluency)
        cells = [
            f'<td class="title" data-value="{e(title)}">{title_html}</td>',
            f'<td class="path"><code>{e(s.get("path"))}</code></td>',
            f'<td class="num fluency" data-value="{"" if fluency is None else fluency}">'
            f'<span class="chip {fluency_class(fluency)}" aria-hidden="true"></span> {fmt(fluency)}</td>',
        ]
        for col in ("flags", "critical", "major", "minor", "words"):
            value = num(s.get(col))
            shown = "–" if value is None else str(int(value)) if value.is_integer() else f"{value:g}"
            cls = "num" + (" crit-pos" if col == "critical" and value else "")
            cells.append(f'<td class="{cls}" data-value="{"" if value is None else value}">{e(shown)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")

    head = "".join(
        f'<th scope="col" class="{key}{" num" if kind == "num" else ""}" data-sort="{kind}" data-key="{key}">'
        f'<button type="button">{label}</button></th>'
        for key, label, kind in _COLUMNS
    )
    mean = f"; mean fluency {sum(fluencies) / len(fluencies):.1f}" if fluencies else ""
    summary = f"{len(summaries)} article{'s' if len(summaries) != 1 else ''} checked{mean}"
    if failures:
        summary += f"; {len(failures)} input{'s' if len(failures) != 1 else ''} failed"
    table = (
        '<div class="table-wrap"><table id="articles"><caption class="sr-only">Articles; click a column '
        f"header to sort</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        if rows
        else '<p class="muted">No articles were checked.</p>'
    )
    fail_html = ""
    if failures:
        items = "".join(
            f'<li><code>{e(f.get("path"))}</code>: <span class="err">{e(f.get("error"))}</span></li>' for f in failures
        )
        fail_html = f'<h2>Failed inputs</h2><ul class="failures" id="failures">{items}</ul>'
    body = (
        '<div class="wrap"><header><h1>mtcheck reports</h1>'
        f'<p class="summary">{e(summary)}. '
        "Click a column header to sort; click a title to open its report.</p>"
        f"</header><main>{table}{fail_html}</main></div>"
    )
    return page("mtcheck reports", body, inline("base.css", "index.css"), inline("index.js"))
