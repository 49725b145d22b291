"""How the default gate policy treats human-corrected English: MLQE-PE post-edits (`pe_tok`, dev split only),
grouped into pseudo-articles of 20 sentences (paragraphs of 4), run through `mtcheck gate`. The sentences are
those that can open a sentence of an article: a post-edit that starts in lower case (", which reports to ...",
"spread darkness, ..."), in another script or with wiki markup ("pisipüsti [[Portuguese") is a fragment of
MLQE-PE's splitting of Wikipedia; joined after a full stop it makes a broken sentence that no human article has,
and the gate is right to hold it (docs/results.md, session 33). `--as-written` keeps every post-edit.

Target (issue #7): at most 1% rejected, at most 5% quarantined.

    nice -n 19 .venv/bin/python bench/gate_postedits.py                 # 10 per language pair = 50 items
    .venv/bin/python bench/gate_postedits.py --redecide                 # re-decide the stored reports with
                                                                        # the current policy, no model
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.core.report import Report  # noqa: E402
from mtcheck.evaluate.data import default_eval_dir, load  # noqa: E402
from mtcheck.gate.filters import decide  # noqa: E402
from mtcheck.gate.policy import load_policy  # noqa: E402

PAIRS = ("et-en", "ne-en", "ro-en", "ru-en", "si-en")


# a sentence of an article opens with a capital or a digit (after an opening quote or bracket), and has no wiki
# markup left over from the Wikipedia dump the MLQE-PE sentences come from
_OPENS_A_SENTENCE = re.compile(r"[\"'“‘(\[]?[A-Z0-9]")
_WIKI_MARKUP = re.compile(r"\[\[|\]\]|\bthumb")


def can_open_a_sentence(sentence: str) -> bool:
    return bool(_OPENS_A_SENTENCE.match(sentence)) and not _WIKI_MARKUP.search(sentence)


def pseudo_articles(per_pair: int, group: int, as_written: bool = False) -> list[dict]:
    """Interleaved by language pair, so that a run cut short still covers every pair."""
    by_pair: list[list[dict]] = []
    for pair in PAIRS:
        items: list[dict] = []
        by_pair.append(items)
        path = default_eval_dir() / f"mlqe-pe.{pair}.dev.jsonl"
        sentences = [it.post_edit for it in load(path) if it.post_edit is not None]
        if not as_written:
            sentences = [x for x in sentences if can_open_a_sentence(x)]
        for k in range(per_pair):
            chunk = sentences[k * group : (k + 1) * group]
            if len(chunk) < group:
                break
            body = "\n\n".join(" ".join(chunk[i : i + 4]) for i in range(0, group, 4))
            items.append({"id": f"{pair}-{k:02d}", "lp": pair, "body": body})
    return [item for row in zip(*by_pair, strict=False) for item in row]


def latest_decisions(out: Path, policy_sha256: str) -> dict[str, str]:
    """Decision per item id under this policy (an earlier run under another policy left lines of its own)."""
    latest: dict[str, str] = {}
    for name in ("accepted", "quarantined", "rejected"):
        path = out / f"{name}.jsonl"
        for line in path.open(encoding="utf-8") if path.exists() else []:
            gate = json.loads(line)["mtcheck"]
            if gate["policy_sha256"] == policy_sha256:
                latest[gate["id"]] = gate["decision"]
    return latest


def counts_from_outputs(out: Path, policy_sha256: str) -> Counter:
    return Counter(latest_decisions(out, policy_sha256).values())


def redecide(out: Path, policy_file: str | None) -> tuple[Counter, list[tuple[str, str, list]]]:
    policy = load_policy(policy_file)
    found: Counter = Counter()
    details = []
    for path in sorted((out / "reports").glob("*.json")):
        report = Report.from_json(json.loads(path.read_text(encoding="utf-8")), where=str(path))
        decision, reasons = decide(report, policy)
        found[decision] += 1
        if reasons:
            details.append((report.article.id, decision, [f"{r.code}: {r.message[:110]}" for r in reasons]))
    return found, details


def by_pair(out: Path, policy_sha256: str) -> str:
    latest = latest_decisions(out, policy_sha256)
    rows = []
    for pair in PAIRS:
        got = Counter(d for i, d in latest.items() if i.startswith(pair))
        rows.append(f"{pair}: {got['accept']}/{got['quarantine']}/{got['reject']}")
    return "per pair (accept/quarantine/reject): " + ", ".join(rows)


def show(found: Counter, seconds: float | None = None) -> None:
    total = sum(found.values()) or 1
    for d in ("accept", "quarantine", "reject"):
        print(f"{d:<11} {found[d]:>4}  {found[d] / total:6.1%}")
    print(f"total       {total:>4}" + (f"  ({seconds:.0f} s)" if seconds else ""))


def gate_feed(items: list[dict], feed: Path, out: Path, policy: str | None, what: str) -> tuple[int, float]:
    """Write the items as a JSONL feed and run `mtcheck gate` over it, as a user would: (exit status, seconds)."""
    feed.parent.mkdir(parents=True, exist_ok=True)
    feed.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    cmd = [sys.executable, "-m", "mtcheck", "gate", str(feed), "--out", str(out)]
    if policy:
        cmd += ["--policy", policy]
    print(f"{len(items)} {what} -> {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    status = subprocess.run(cmd).returncode
    seconds = time.monotonic() - start
    print(f"exit status {status}")
    return status, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-pair", type=int, default=10)
    ap.add_argument("--group", type=int, default=20)
    ap.add_argument("--work", type=Path, default=Path("/tmp/mtcheck-gate-postedits"))
    ap.add_argument("--policy", default=None)
    ap.add_argument("--redecide", action="store_true", help="re-decide stored reports, no model")
    ap.add_argument("--as-written", action="store_true", help="every post-edit, fragments and wiki markup too")
    args = ap.parse_args()
    out = args.work / "out"
    if args.redecide:
        found, details = redecide(out, args.policy)
        for item_id, decision, reasons in details:
            print(f"{item_id}: {decision}: {' | '.join(reasons)}")
        show(found)
        return
    items = pseudo_articles(args.per_pair, args.group, args.as_written)
    _status, seconds = gate_feed(
        items, args.work / "postedits.jsonl", out, args.policy, f"pseudo-articles of {args.group} post-edited sentences"
    )
    sha = load_policy(args.policy).sha256
    show(counts_from_outputs(out, sha), seconds)
    print(by_pair(out, sha))


if __name__ == "__main__":
    main()
