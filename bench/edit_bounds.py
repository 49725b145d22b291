"""How far an edit's gain can rise after the edit itself: the data behind pruning edit-gain proposals.

An edit's gain (nats, SLOR-adjusted) is its local part, read at the edit (a deletion: the deleted word's surprisal
less its unigram surprisal; a substitution: the same less the substitute's), plus the change in how the rest of
the sentence reads. The local part is known from the one pass; only the rest needs a forward on the cache. This
prints, per edit kind, the distribution of (gain - local) over dev articles and lines, and how many edits a bound
on it would skip without changing a decision.

    .venv/bin/python bench/edit_bounds.py [--articles 60] [--lines 200]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.evaluate.data import default_eval_dir, load  # noqa: E402
from mtcheck.pipeline import Checker  # noqa: E402
from mtcheck.reading import feed_item_article  # noqa: E402
from mtcheck.reading.formats import line_article  # noqa: E402
from mtcheck.signals import editgain  # noqa: E402

RECORDS: list[dict] = []
HORIZONS: tuple[int, ...] = (0, 3, 6, 12)


def dev_articles(n: int) -> list:
    out = []
    art = default_eval_dir() / "articles"
    for name, share in (
        ("mqm23-zhen.dev.jsonl", n // 2),
        ("wmt21-ruen.dev.jsonl", n // 4),
        ("enorig.dev.jsonl", n // 4),
    ):
        with open(art / name, encoding="utf-8") as f:
            for i, line in zip(range(share), f, strict=False):
                item = json.loads(line)
                out.append(feed_item_article({"id": item["id"], "text": item["text"]}, f"{name}#{i + 1}", str(i)))
    return out


def install() -> None:
    original = editgain.LMSignals.hits_many

    def hits_many(self, articles, scores):
        edits = self.proposals_many(articles, scores)
        grouped = [self.windows(a, s, e) for a, s, e in zip(articles, scores, edits, strict=True)]
        windows = [w for ws, _m in grouped for w in ws]
        full = scores[0].passed.window_gains(windows, None) if windows else []
        near = {h: scores[0].passed.window_gains(windows, h) if windows else [] for h in HORIZONS}
        k = 0
        for mine, (ws, members) in zip(edits, grouped, strict=True):
            fg = self.gains(mine, members, full[k : k + len(ws)])
            ng = {h: self.gains(mine, members, g[k : k + len(ws)]) for h, g in near.items()}
            k += len(ws)
            for n, (e, b) in enumerate(zip(mine, fg, strict=True)):
                key = (e.word.start, e.word.end) if e.word else (e.start, e.end)
                RECORDS.append({"kind": e.kind, "gain": b, "key": (id(mine), key), **{h: ng[h][n] for h in HORIZONS}})
        return original(self, articles, scores)

    editgain.LMSignals.hits_many = hits_many


@click.command()
@click.option("--articles", "n_articles", default=60, show_default=True)
@click.option("--lines", "n_lines", default=200, show_default=True, help="ro-en dev lines")
@click.option("--horizons", default="0,3,6,12", show_default=True, help="tokens past the edit, comma-separated")
def main(n_articles: int, n_lines: int, horizons: str) -> None:
    global HORIZONS
    HORIZONS = tuple(int(h) for h in horizons.split(","))
    install()
    checker = Checker(corrections=False)
    for a in dev_articles(n_articles):
        checker.check(a)
    if n_lines:
        rows = load(default_eval_dir() / "mlqe-pe.ro-en.dev.jsonl", n_lines)
        checker.check_lines([line_article(it.text, i, "ro") for i, it in enumerate(rows)])
    min_gain = checker.detector.signals.settings.min_gain
    best: dict = {}
    for r in RECORDS:
        best[r["key"]] = max(best.get(r["key"], -1e9), r["gain"])
    print(
        f"{len(RECORDS)} edits; {sum(1 for g in best.values() if g >= min_gain)} of {len(best)} words reach {min_gain}"
    )
    for h in HORIZONS:
        print(f"-- the gain read {h} tokens past the edit (rest = full gain - that)")
        for kind in ("delete", "substitute", "merge"):
            rs = [r for r in RECORDS if r["kind"] == kind]
            if not rs:
                continue
            d = np.asarray([r["gain"] - r[h] for r in rs])
            q = np.percentile(d, [50, 90, 99, 99.9, 100])
            reach = sum(1 for r in rs if r["gain"] >= min_gain)
            print(
                f"{kind:10s} n={len(rs):5d} (reach {reach:4d}) rest p50 p90 p99 p99.9 max: "
                + " ".join(f"{x:+.1f}" for x in q)
            )
            for bound in (4.0, 6.0, 8.0, 10.0):
                skip = [r for r in rs if r[h] + bound < min_gain]
                lost = [r for r in skip if r["gain"] >= min_gain]
                lost_best = [r for r in lost if r["gain"] >= best[r["key"]]]
                print(
                    f"   bound {bound:4.1f}: skips {len(skip):5d} ({len(skip) / len(rs):.0%}), "
                    f"of which {len(lost)} reach {min_gain} ({len(lost_best)} the word's best)"
                )


if __name__ == "__main__":
    main()
