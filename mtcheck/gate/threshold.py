"""Choose a gate threshold from labelled data: sweep one score, measure "not accepted" against the label.

Labelled items are JSONL lines with a label (`label`: "good"/"bad"/"ok"; or `bad`/`good`: true/false) and
either the scores already (`scores` or a gate output's `mtcheck.scores`) or a text field to check with the
model. The `../shared/eval/` format is grouped into pseudo-articles: N post-edits (`pe_tok`, good) and the
N machine translations (`mt_tok`, bad when at least `bad_share` of their tokens are tagged BAD).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.evaluate.data import EvalItem, load

# score name -> (where to read it, True when a high value is bad)
SCORES: dict[str, bool] = {
    "fluency": False,
    "predicted_bad": True,
    "bad_words_per_sentence": True,
    "bad_words_worst_fifth": True,
    "critical": True,
    "major": True,
    "flags": True,
    "critical_per_1k": True,
    "major_per_1k": True,
    "minor_per_1k": True,
    "flags_per_1k": True,
}


@dataclass(frozen=True)
class Labelled:
    id: str
    bad: bool
    text: str | None = None
    scores: dict | None = None


@dataclass(frozen=True)
class Row:
    threshold: float
    flagged: int
    precision: float
    recall: float
    f1: float


def _label(raw: dict) -> bool | None:
    for key in ("label", "bad", "good"):
        if key not in raw:
            continue
        v = raw[key]
        if isinstance(v, bool):
            return v if key != "good" else not v
        if isinstance(v, str) and v.strip().lower() in ("bad", "good", "ok"):
            return v.strip().lower() == "bad"
        if isinstance(v, (int, float)) and v in (0, 1):
            return bool(v) if key != "good" else not v
    return None


def load_labelled(path: Path, group: int = 20, bad_share: float = 0.1, limit: int | None = None) -> list[Labelled]:
    """The labelled items of a file: labelled JSONL lines, or the `../shared/eval/` format (told by the first
    line; one file is one or the other), grouped into pseudo-articles."""
    if _is_eval_format(path):
        # `limit` groups of lines always give `limit` items or more (an MT and, mostly, a post-edit each)
        items = _pseudo_articles(load(path, limit * group if limit else None), path.stem, group, bad_share)
        return items[:limit] if limit else items
    items: list[Labelled] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}#{n}", f"not JSON ({exc})") from None
            if not isinstance(raw, dict):
                raise InputError(f"{path}#{n}", "not a JSON object")
            if _is_eval_line(raw):
                raise InputError(f"{path}#{n}", "an evaluation line (mt_tok) among labelled lines")
            bad = _label(raw)
            if bad is None:
                raise InputError(f"{path}#{n}", "no label (expected label: good|bad, or bad/good: true|false)")
            gate = raw.get("mtcheck") if isinstance(raw.get("mtcheck"), dict) else {}
            scores = raw.get("scores") or gate.get("scores")
            text = next((raw[k] for k in ("body", "text", "content") if isinstance(raw.get(k), str)), None)
            if scores is None and text is None:
                raise InputError(f"{path}#{n}", "neither scores nor a text field (body, text, content)")
            items.append(Labelled(str(raw.get("id", f"{path.stem}-{n}")), bad, text, scores))
    return items[:limit] if limit else items


def _is_eval_line(raw: dict) -> bool:
    return "mt_tok" in raw and "mt_word_tags" in raw


def _is_eval_format(path: Path) -> bool:
    """Whether the file's first non-empty line is in the `../shared/eval/` format."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    raw = json.loads(line)
                except ValueError:
                    return False  # reported with its line number by the labelled reader
                return isinstance(raw, dict) and _is_eval_line(raw)
    return False


def _pseudo_articles(rows: list[EvalItem], stem: str, group: int, bad_share: float) -> list[Labelled]:
    """Every `group` lines: their MT as one article, bad when at least `bad_share` of the MT's tags (the
    <EOS> omission tag included) are BAD, and their post-edits as one good article where all have one."""
    out: list[Labelled] = []
    for start in range(0, len(rows) - group + 1, group):
        chunk = rows[start : start + group]
        bad = sum(sum(r.tags) + (r.eos_bad is True) for r in chunk)
        tags = sum(len(r.tags) + (r.eos_bad is not None) for r in chunk)
        out.append(
            Labelled(f"{stem}-mt-{start}", bad / max(1, tags) >= bad_share, _paragraphs([r.text for r in chunk]))
        )
        pe = [r.post_edit for r in chunk if r.post_edit is not None]
        if len(pe) == len(chunk):
            out.append(Labelled(f"{stem}-pe-{start}", False, _paragraphs(pe)))
    return out


def _paragraphs(sentences: list[str], per: int = 4) -> str:
    """Sentences into paragraphs of `per`, so a pseudo-article reads like news copy."""
    return "\n\n".join(" ".join(sentences[i : i + per]) for i in range(0, len(sentences), per))


def score_value(scores: dict, name: str) -> float | None:
    if name == "flags_per_1k":
        words = scores.get("words") or 0
        return 1000.0 * (scores.get("flags") or 0) / words if words else None
    value = scores.get(name)
    return None if value is None else float(value)


def sweep(values: Iterable[tuple[float, bool]], high_is_bad: bool) -> list[Row]:
    """For each distinct value as the threshold: items past it are "not accepted"; P/R/F1 vs the label."""
    pairs = list(values)
    positives = sum(1 for _, bad in pairs if bad)
    rows = []
    for t in sorted({v for v, _ in pairs}):
        flagged = [bad for v, bad in pairs if (v >= t if high_is_bad else v <= t)]
        tp = sum(flagged)
        p = tp / len(flagged) if flagged else 0.0
        r = tp / positives if positives else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append(Row(t, len(flagged), p, r, f1))
    return rows


def best(rows: list[Row], target_precision: float | None = None) -> Row | None:
    if not rows:
        return None
    if target_precision is not None:
        ok = [r for r in rows if r.precision >= target_precision]
        return max(ok, key=lambda r: (r.recall, r.precision)) if ok else None
    return max(rows, key=lambda r: (r.f1, r.precision))


def table(rows: list[Row], name: str, high_is_bad: bool, chosen: Row | None) -> str:
    op = ">=" if high_is_bad else "<="
    lines = [f"{'not accepted when':<28} {'items':>6} {'precision':>10} {'recall':>7} {'F1':>6}"]
    for r in rows:
        mark = "  <- best" if chosen is r else ""
        lines.append(
            f"{name + ' ' + op + ' ' + format(r.threshold, '.4g'):<28} {r.flagged:>6} "
            f"{r.precision:>10.3f} {r.recall:>7.3f} {r.f1:>6.3f}{mark}"
        )
    return "\n".join(lines)


def scored(items: list[Labelled], check: Callable[[Labelled], dict] | None) -> list[tuple[dict, bool]]:
    """(scores, bad) of each item; items without scores are checked with `check` (the model). The items
    are left as they are."""
    out = []
    for item in items:
        scores = item.scores
        if scores is None:
            if check is None:
                raise MtcheckError(f"{item.id}: no scores and no checker")
            scores = check(item)
        out.append((scores, item.bad))
    return out
