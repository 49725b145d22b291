"""The HTML page of one report: the article with its flags marked, a fluency heat strip, the flag list, a
details panel (assets/article.js) and the review controls (assets/review.js). See mtcheck/report/html.py for
how untrusted article content is kept out of the markup."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from typing import TypeVar

from mtcheck.core.codes import WORST_FIRST, Severity
from mtcheck.core.report import Report, SegmentScore
from mtcheck.core.types import Flag
from mtcheck.report.html_common import (
    FLUENCY_BUCKETS,
    as_int,
    e,
    fluency_class,
    fmt,
    inline,
    json_for_script,
    num,
    page,
    safe_href,
)

_SEV_BADGE = {Severity.CRITICAL: "CRIT", Severity.MAJOR: "MAJ", Severity.MINOR: "min"}
_SEV_STYLE = {Severity.CRITICAL: "solid", Severity.MAJOR: "dashed", Severity.MINOR: "dotted"}  # mark underline
_SEGMENT_LABELS = {"boilerplate": "boilerplate", "byline": "byline"}

_Item = TypeVar("_Item")
# (index of the segment, start, end, segment, whether a flag touches it), one per scored segment
_HeatCell = tuple[int, int, int, SegmentScore, bool]


# --- spans --------------------------------------------------------------------------------------


def _spans(items: Iterable[_Item], text_len: int) -> list[tuple[int, int, _Item]]:
    """(start, end, item) for the items that cover some of the text, clipped to it, in reading order."""
    out = []
    for item in items:
        start, end = max(0, item.start), min(text_len, item.end)
        if end > start:
            out.append((start, end, item))
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def _cut_points(lo: int, hi: int, ranges: Iterable[tuple[int, int]]) -> list[int]:
    cuts = {lo, hi}
    for start, end in ranges:
        if lo < start < hi:
            cuts.add(start)
        if lo < end < hi:
            cuts.add(end)
    return sorted(cuts)


def _paragraph_ranges(report: Report) -> list[tuple[int, int]]:
    paras = [(s, t) for s, t, _ in _spans(report.paragraphs, len(report.text))]
    if paras:
        return sorted(paras)
    # No paragraphs in the report: split on blank lines ourselves.
    return [(m.start(), m.end()) for m in re.finditer(r"\S(?:.*?\S)?(?=\n\s*\n|\s*\Z)", report.text, flags=re.S)]


def _severity(flag: Flag) -> Severity:
    return Severity(flag.severity)


def _confidence(flag: Flag) -> float | None:
    """The confidence as the report's JSON writes it (rounded), so that the page and the .json agree."""
    return num(flag.to_json()["confidence"])


# --- the article text ---------------------------------------------------------------------------


def _render_text(report: Report) -> tuple[str, list[_HeatCell]]:
    """The article body HTML and the heat strip's cells.

    The text is cut at every segment, flag and tagged word boundary; each piece is written once, inside its
    segment's <span>, a piece of a word tagged BAD inside a <span class="wt"> (shown on demand), and a piece
    under one or more flags as one <mark> that names them all (marks never nest)."""
    text = report.text
    segments = _spans(report.segments, len(text))
    flags = _spans(report.flags, len(text))
    tagged = _tagged_words(report)
    tag_starts = [a for a, _b, _p in tagged]
    started: set[int] = set()  # flags (by index in `flags`) whose first piece is written
    flagged: set[int] = set()  # segments (by index in `segments`) that a flag touches

    parts: list[str] = []
    for p_start, p_end in _paragraph_ranges(report):
        p_segs = [i for i, (s, t, _) in enumerate(segments) if s < p_end and t > p_start]
        p_flags = [k for k, (s, t, _) in enumerate(flags) if s < p_end and t > p_start]
        p_tags = [(a, b) for a, b, _p in tagged[bisect.bisect_left(tag_starts, p_start) :] if a < p_end]
        cuts = _cut_points(p_start, p_end, [segments[i][:2] for i in p_segs] + [flags[k][:2] for k in p_flags] + p_tags)
        is_title = any(segments[i][2].kind == "title" for i in p_segs)
        parts.append('<p class="title-para">' if is_title else "<p>")
        open_seg = None
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            seg = next((i for i in p_segs if segments[i][0] <= a and b <= segments[i][1]), None)
            if seg != open_seg:
                if open_seg is not None:
                    parts.append("</span>")
                if seg is not None:
                    parts.append(_segment_open(segments[seg][2], seg))
                open_seg = seg
            covering = [k for k in p_flags if flags[k][0] <= a and b <= flags[k][1]]
            piece = _word_tag(e(text[a:b]), a, b, tagged, tag_starts)
            if not covering:
                parts.append(piece)
                continue
            if seg is not None:
                flagged.add(seg)
            for k in covering:
                if k not in started:
                    parts.append(f'<span class="flag-anchor" id="flag-{e(flags[k][2].id)}"></span>')
            parts.append(_mark(piece, text[a:b], [(k, *flags[k]) for k in covering], started, b))
        if open_seg is not None:
            parts.append("</span>")
        parts.append("</p>\n")

    heat = [(i, s, t, seg, i in flagged) for i, (s, t, seg) in enumerate(segments) if seg.kind in ("title", "sentence")]
    return "".join(parts), heat


def _tagged_words(report: Report) -> list[tuple[int, int, float]]:
    """The words the report tags BAD (P(BAD) at or above its threshold), in reading order."""
    tags = report.word_tags
    if tags is None:
        return []
    return sorted((a, b, p) for a, b, p in tags.words if p >= tags.threshold)


def _word_tag(piece_html: str, a: int, b: int, tagged: list[tuple[int, int, float]], starts: list[int]) -> str:
    """The piece [a, b) in a word-tag span when a word tagged BAD holds it."""
    k = bisect.bisect_right(starts, a) - 1
    if k < 0 or not (tagged[k][0] <= a and b <= tagged[k][1]):
        return piece_html
    return f'<span class="wt" title="word tag: P(BAD) {tagged[k][2]:.2f}">{piece_html}</span>'


def _bad_words_per_sentence(report: Report) -> str:
    """The article's scores against human English, the worst fifth being the one the gate reads (absent without a
    score head)."""
    value, worst = report.scores.bad_words_per_sentence, report.scores.bad_words_worst_fifth
    if value is None:
        return ""
    in_worst = f", {worst:.1f} in its worst fifth" if worst is not None else ""
    return (
        '<span class="bad-rate" title="Words in error the score head expects per sentence (headline aside), on '
        "average and in the article&#39;s worst fifth of sentences (the count a fifth of them reach). Trained also "
        "on human-corrected English as clean: human-written news reads low. The gate holds back an article whose "
        f'worst fifth is above its policy&#39;s limit.">{value:.1f} expected errors per sentence{in_worst}</span>'
    )


def _word_tag_toggle(report: Report) -> str:
    """The switch that shows the word tags, with what they are: a dense estimate, not flags to review."""
    tags = report.word_tags
    if tags is None:
        return ""
    n, total = len(tags.bad()), len(tags.words)
    share = f" ({n / total:.0%} of {total})" if total else ""
    expected = num(report.scores.predicted_bad)
    return (
        '<label class="wt-toggle" title="Word-level quality estimation (WMT QE style): each word the detector '
        "rates at or above its threshold. Dense, and human news gets some: a measure of the translation, not a "
        'list to review.">'
        f'<input type="checkbox" id="show-tags"> show word tags: {n} words at P(BAD) ≥ {tags.threshold:.2f}{share}'
        + (f"; expected BAD words {expected:.0%}" if expected is not None else "")
        + "</label>"
    )


def _segment_open(seg: SegmentScore, index: int) -> str:
    kind = seg.kind
    kind_cls = kind if kind in ("title", "sentence", "boilerplate", "byline") else "other"
    attrs = f' id="s{index}" class="seg seg-{kind_cls}"'
    if kind in _SEGMENT_LABELS:
        attrs += f' data-label="{e(_SEGMENT_LABELS[kind])}" title="{e(kind)}: not scored"'
    fluency = num(seg.fluency)
    if fluency is not None:
        attrs += f' data-fluency="{fluency:.1f}"'
    return f"<span{attrs}>"


def _mark(
    piece_html: str,
    piece_text: str,
    covering: list[tuple[int, int, int, Flag]],
    started: set[int],
    piece_end: int,
) -> str:
    """One piece of text under the flags `covering` ((index, start, end, flag)), coloured by the worst."""
    covering = sorted(covering, key=lambda c: (-_severity(c[3]).rank, c[1]))
    top = _severity(covering[0][3])
    ids = [str(f.id) for _, _, _, f in covering]
    starts_here = [k for k, _, _, _ in covering if k not in started]
    started.update(starts_here)
    ending = [f for _, _, end, f in covering if end == piece_end]
    cls = f"flag sev-{top}" + (" multi" if len(covering) > 1 else "")
    descr = "; ".join(
        f"{_severity(f)} flag {f.id}"
        + (f" (confidence {fmt(c, 2)})" if (c := _confidence(f)) is not None else "")
        + (f": {f.reasons[0].message}" if f.reasons else "")
        for _, _, _, f in covering
    )
    attrs = [
        f'class="{cls}"',
        f'data-flag="{e(" ".join(ids))}"',
        f'data-sev="{top}"',
        f'tabindex="{0 if starts_here else -1}"',
        'role="button"',
        f'title="{e(descr)}"',
        f'aria-label="{e(piece_text)} ({e(descr)})"',
    ]
    if ending:
        badge_sev = max((_severity(f) for f in ending), key=lambda s: s.rank)
        attrs.append(f'data-badge="{_SEV_BADGE[badge_sev]}"')
    return f"<mark {' '.join(attrs)}>{piece_html}</mark>"


# --- around the text ----------------------------------------------------------------------------


def _heat_strip(heat: list[_HeatCell], text: str) -> str:
    if not heat:
        return ""
    cells = []
    number = 0
    for index, start, end, seg, has_flag in heat:
        fluency = num(seg.fluency)
        kind = "title" if seg.kind == "title" else "sentence"
        number += kind == "sentence"
        score = f"fluency {fluency:.1f}" if fluency is not None else "not scored"
        snippet = text[start:end]
        if len(snippet) > 90:
            snippet = snippet[:87].rstrip() + "…"
        label = f"{'Title' if kind == 'title' else f'Sentence {number}'}: {score}"
        label += " (flagged)" if has_flag else ""
        cls = fluency_class(fluency) + (" has-flag" if has_flag else "") + (" title-cell" if kind == "title" else "")
        cells.append(
            f'<a href="#s{index}" class="{cls}" title="{e(label + " — " + snippet)}"'
            f' aria-label="{e(label)}"'
            f' data-fluency="{"" if fluency is None else f"{fluency:.1f}"}"></a>'
        )
    return (
        '<nav class="heat-wrap" aria-label="Sentence fluency">'
        '<p class="heat-title">Sentence fluency (one cell per sentence; hover for the score, click to jump; '
        "a dark bar marks a sentence with a flag)</p>"
        f'<div class="heat" id="heat">{"".join(cells)}</div></nav>'
    )


def _legend() -> str:
    sev = "".join(
        f'<span class="item"><mark class="flag legend-mark sev-{s}" data-badge="{_SEV_BADGE[s]}" '
        f'aria-hidden="true">text</mark><span>{s} ({_SEV_STYLE[s]})</span></span>'
        for s in WORST_FIRST
    )
    scale = "".join(
        f'<span class="chip {name}" title="fluency {e(label)}"></span>' for name, _, label in FLUENCY_BUCKETS
    )
    return (
        '<div class="legend" aria-label="Legend">'
        + sev
        + '<span class="item"><span class="seg-boilerplate" data-label="boilerplate">greyed</span>'
        "<span>not scored</span></span>" + f'<span class="item"><span class="scale" aria-hidden="true">{scale}</span>'
        "<span>fluency 0 → 100</span></span>"
        + '<span class="item"><span class="chip fna"></span><span>no score</span></span>'
        "</div>"
    )


def _flag_list(flags: list[tuple[int, int, Flag]], text: str) -> str:
    if not flags:
        return '<p class="none">No flags: nothing in this article looks garbled.</p>'
    items = []
    for start, end, f in flags:
        sev = _severity(f)
        fid = str(f.id)
        snippet = text[start:end]
        if len(snippet) > 120:
            snippet = snippet[:117].rstrip() + "…"
        reason = f'<span class="freason">{e(f.reasons[0].message)}</span>' if f.reasons else ""
        items.append(
            f'<li id="item-{e(fid)}"><a href="#flag-{e(fid)}" data-flag="{e(fid)}">'
            f'<span class="badge sev-{sev}">{sev}</span><span class="fid">{e(fid)}</span>'
            f'<span class="ftext">“{e(snippet)}”</span><span class="fpos">@{start}–{end}</span>'
            f"{reason}</a></li>"
        )
    return f'<ol class="flag-list" id="flag-list">{"".join(items)}</ol>'


def _counts(report: Report) -> str:
    scores = report.scores
    parts = [f'<span class="badge sev-{s}">{as_int(scores.count(s))} {s}</span>' for s in WORST_FIRST]
    return f'<span class="counts"><strong>{as_int(scores.flags)} flags</strong>{"".join(parts)}</span>'


# --- review UI (mtcheck review / static decisions) -----------------------------------------------
# On every article page. Served by `mtcheck review`, decisions go to the server's API; opened from disk, they
# are kept in localStorage and exported as a file. The main script (assets/article.js) announces the open
# flag with "mtcheck:open"/"mtcheck:close" events; assets/review.js adds the decision controls to the panel.


def _review_box(total: int) -> str:
    if not total:
        return ""
    return (
        '<section id="review" aria-label="Review" data-mode="static">'
        f'<div class="rv-top"><strong id="review-progress">0 / {total} decided</strong>'
        '<span id="review-counts" class="muted"></span></div>'
        '<div class="rv-meter" aria-hidden="true"><span id="review-fill"></span></div>'
        '<p id="review-mode" class="muted">Decisions are kept in this browser only.</p>'
        '<div class="rv-tools"><label>Reviewer <input id="review-who" type="text" autocomplete="name" '
        'placeholder="optional" maxlength="200"></label>'
        '<button type="button" id="review-export">Export decisions</button></div>'
        '<p class="rv-keys"><kbd>j</kbd>/<kbd>k</kbd> next/previous · <kbd>1</kbd>–<kbd>5</kbd> use suggestion · '
        "<kbd>x</kbd> reject · <kbd>e</kbd> edit · <kbd>u</kbd> reopen</p>"
        '<p id="review-status" role="status" aria-live="polite"></p>'
        "</section>"
    )


# --- the page -----------------------------------------------------------------------------------


def _header(report: Report, title: str) -> str:
    article, model, settings = report.article, report.model or {}, report.settings or {}
    model_sha = str(model.get("sha256") or "")
    meta_rows = [
        ("Path", f"<code>{e(article.path)}</code>"),
        (
            "Model",
            f"{e(model.get('name') or 'unknown')}"
            + (f' <code title="{e(model_sha)}">sha256 {e(model_sha[:12])}</code>' if model_sha else "")
            + (f' <span class="muted">({e(model.get("source"))})</span>' if model.get("source") else ""),
        ),
        ("Settings", f"<code>{e(settings.get('signature') or '–')}</code>"),
        ("Words", e(as_int(article.words))),
    ]
    if article.url and safe_href(article.url):
        url = str(article.url)
        meta_rows.insert(1, ("URL", f'<a href="{e(url)}" rel="noreferrer noopener">{e(url)}</a>'))
    if article.encoding_note:
        meta_rows.append(("Encoding", e(article.encoding_note)))
    tool = report.tool or {}
    if report.created or tool:
        meta_rows.append(
            (
                "Created",
                f"{e(report.created or '–')} "
                f'<span class="muted">by {e(tool.get("name", "mtcheck"))} '
                f"{e(tool.get('version', ''))}</span>",
            )
        )
    meta = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta_rows)
    fluency = num(report.scores.fluency)
    return (
        '<header class="top">'
        f"<h1>{e(title)}</h1>"
        f'<dl class="meta">{meta}</dl>'
        '<div class="scoreline">'
        f'<span class="fluency-big" title="article fluency">'
        f'<span class="chip {fluency_class(fluency)}"></span> '
        f"{e(fmt(fluency))}<small> / 100 fluency</small></span>"
        f"{_counts(report)}{_bad_words_per_sentence(report)}{_word_tag_toggle(report)}</div>"
        f'<p class="calibration">{e(report.calibration or "")}</p>'
        "</header>"
    )


def _page_data(report: Report, flags: list[tuple[int, int, Flag]]) -> dict:
    """What the page scripts read: the flags in the text, and the article's hash the review ties decisions to."""
    flag_data = []
    for _, _, f in flags:
        data = f.to_json()
        flag_data.append(
            {
                "id": str(f.id),
                "start": f.start,
                "end": f.end,
                "text": f.text,
                "severity": str(_severity(f)),
                "confidence": num(data["confidence"]),
                "reasons": data["reasons"],
                "suggestions": data["suggestions"],
            }
        )
    out: dict = {"flags": flag_data}
    if flag_data:  # the review UI ties decisions to this exact article text
        out["article"] = {"sha256": report.article.sha256}
    return out


def render_article(report: Report) -> str:
    """A self-contained HTML page for one report."""
    text = report.text
    article = report.article
    title = article.title or article.id or article.path or "Untitled article"
    flags = _spans(report.flags, len(text))
    body_html, heat = _render_text(report)
    panel = (
        '<aside class="side" id="side" aria-label="Flag details">'
        + _review_box(len(flags))
        + '<section id="panel" aria-live="polite">'
        '<div class="panel-head"><h2 id="panel-title">Flag details</h2><div class="panel-nav">'
        '<button type="button" id="panel-prev" aria-label="Previous flag">‹ Prev</button>'
        '<button type="button" id="panel-next" aria-label="Next flag">Next ›</button>'
        '<button type="button" id="panel-close" class="close" aria-label="Close details">✕</button>'
        "</div></div>"
        '<div id="panel-body"><p class="hint">Click or focus (Tab, then Enter) a highlighted passage to see '
        "why it was flagged and what could replace it.</p></div>"
        "</section></aside>"
    )
    main = (
        '<div class="layout"><main>'
        + _legend()
        + _heat_strip(heat, text)
        + f'<article id="article" lang="en">{body_html}</article>'
        + "<h2>Flags</h2>"
        + _flag_list(flags, text)
        + "</main>"
        + panel
        + "</div>"
    )
    data_script = (
        f'<script type="application/json" id="report-data">{json_for_script(_page_data(report, flags))}</script>'
    )
    body = f'<div class="wrap">{_header(report, title)}{main}</div>\n{data_script}'
    return page(
        f"{title} — mtcheck report",
        body,
        inline("base.css", "article.css", "review.css"),
        inline("article.js", "review.js"),
    )
