"""How the default gate policy treats professional human translations it was not tuned on: the `refA`/`refB`
articles of the WMT21 dev documents past the first N of each file (the gate's article limits were chosen with
English-original news and the professional translations of the first 12 ru-en and 20 ja-en documents; see
docs/results.md, session 31), run through `mtcheck gate` as a JSONL feed, the product's own path.

Target (issue 17): at least 97% of human-written or human-translated news accepted.

    nice -n 19 .venv/bin/python bench/gate_humans.py                      # 73 articles, about 15 min on 2 cores
    nice -n 19 .venv/bin/python bench/gate_humans.py --with-chosen        # and the 44 that chose the limits
    .venv/bin/python bench/gate_humans.py --redecide                      # re-decide the stored reports with
                                                                          # the current policy, no model
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gate_postedits import counts_from_outputs, gate_feed, latest_decisions, redecide, show  # noqa: E402
from mtcheck.evaluate.articles import headline_feed_item  # noqa: E402
from mtcheck.evaluate.data import default_eval_dir  # noqa: E402
from mtcheck.gate.policy import load_policy  # noqa: E402

# file -> documents used to choose the gate's limits (the first N in file order); the rest are read here
CHOSEN_ON = {"wmt21-ruen.dev.jsonl": 12, "wmt21-jaen.dev.jsonl": 20}


def human_translations(articles_dir: Path, with_chosen: bool = False) -> list[dict]:
    """The human articles of the documents after the first N of each file (and with `with_chosen`, of the first N
    too), as feed items with their file and part."""
    items = []
    for name, first in CHOSEN_ON.items():
        docs: list[str] = []
        for line in (articles_dir / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row["doc"] not in docs:
                docs.append(row["doc"])
            part = "held-out" if docs.index(row["doc"]) >= first else "chosen"
            if row["human"] and (with_chosen or part == "held-out"):
                items.append({**headline_feed_item(row["id"], row["text"]), "set": name, "part": part})
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=Path, default=default_eval_dir() / "articles")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mtcheck-gate-humans"))
    ap.add_argument("--policy", default=None)
    ap.add_argument("--redecide", action="store_true", help="re-decide stored reports, no model")
    ap.add_argument("--with-chosen", action="store_true", help="also the documents that chose the limits (117)")
    args = ap.parse_args()
    out = args.work / "out"
    items = human_translations(args.articles, args.with_chosen)
    if args.redecide:
        found, details = redecide(out, args.policy)
    else:
        _status, seconds = gate_feed(items, args.work / "humans.jsonl", out, args.policy, "professional translations")
        print(f"{seconds:.0f} s")
        found, details = redecide(out, args.policy)
        if found != counts_from_outputs(out, load_policy(args.policy).sha256):
            print("note: the stored reports re-decide differently from the run's outputs")
    for item_id, decision, reasons in details:
        print(f"{item_id}: {decision}: {' | '.join(reasons)}")
    show(found)
    where = {item["id"]: (item["set"], item["part"]) for item in items}
    decided = latest_decisions(out, load_policy(args.policy).sha256)
    for key in sorted(set(where.values())):
        got = Counter(d for i, d in decided.items() if where.get(i) == key)
        print(f"{key[0]} ({key[1]}): accept/quarantine/reject {got['accept']}/{got['quarantine']}/{got['reject']}")


if __name__ == "__main__":
    main()
