"""Can English alone say how post-editors fix MT? Two edit sources the corrector does not use, measured the way
issue #5 measures suggestions: chrF and TER (sacrebleu) against the human post-edit, before and after.

1. A phrase table mined from the train splits' MT -> post-edit pairs (difflib on tokens): each edit of up to
   three tokens, with one token of context either side, kept when it recurs (--support) and when the post-editors
   made it in at least --precision of the train sentences where its MT side occurs. Applied to every dev
   sentence, flagged or not, as an upper bound of what such a table could add.
2. Pronoun swaps (it -> he/she, its -> his/her), the commonest content-free post-edit of ro-en and et-en after
   articles and commas: MT from languages with a gender-neutral or grammatical-gender pronoun calls a person
   "it". The language model's SLOR-adjusted gain ranks he/she against it; the minimum gain is chosen on train
   (best mean chrF change over at least 20 swaps) and then applied on dev.

    .venv/bin/python bench/postedit_patterns.py [--pairs ro,et] [--pronouns 300]

Measured 2026-11-26 (`--pronouns 300`, 4 minutes): the table (109 patterns, support >= 3, precision >= 0.4, from
all five pairs' train splits) moved dev chrF from 80.71 to 80.69 (ro-en, 7 applied) and left it at 73.85 (et-en,
7 applied). Pronoun swaps: the minimum gain chosen on train is 4 nats (28 swaps, +0.78 sentence chrF each); on dev
7 ro-en swaps gained +0.51 each and 3 et-en swaps lost 0.46 each. At 1 nat, train said +0.55 (91 swaps) and dev
-0.63 (ro-en) and -0.47 (et-en). Too few and too mixed to ship: what the post-editors changed depends on the
source sentence, which mtcheck does not see.
"""

from __future__ import annotations

import difflib
import json
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sacrebleu.metrics import CHRF, TER  # noqa: E402

from mtcheck.evaluate.data import default_eval_dir  # noqa: E402

MAX_TOKENS = 3
PRONOUNS = {"it": ("he", "she"), "It": ("He", "She"), "its": ("his", "her"), "Its": ("His", "Her")}
_PRONOUN = re.compile(r"\b(it|It|its|Its)\b")


def _rows(eval_dir: Path, pair: str, split: str) -> list[dict]:
    with open(eval_dir / f"mlqe-pe.{pair}-en.{split}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def mine(rows: list[dict], support: int, precision: float) -> dict[tuple, tuple]:
    """MT context n-gram -> post-edited n-gram, for edits that recur and that post-editors usually make."""
    edits: Counter = Counter()
    for r in rows:
        a, b = r["mt_tok"].split(), r["pe_tok"].split()
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal" or i2 - i1 > MAX_TOKENS or j2 - j1 > MAX_TOKENS:
                continue
            left = a[i1 - 1] if i1 > 0 else "<s>"
            right = a[i2] if i2 < len(a) else "</s>"
            edits[((left, *a[i1:i2], right), (left, *b[j1:j2], right))] += 1
    wanted = {src for src, _tgt in edits}
    seen: dict[tuple, int] = defaultdict(int)
    for r in rows:
        a = ["<s>", *r["mt_tok"].split(), "</s>"]
        for n in range(2, MAX_TOKENS + 3):
            for i in range(len(a) - n + 1):
                if tuple(a[i : i + n]) in wanted:
                    seen[tuple(a[i : i + n])] += 1
    table: dict[tuple, tuple] = {}
    for (src, tgt), count in edits.items():
        if count >= support and count / seen[src] >= precision and count > table.get(src, ((), 0))[1]:
            table[src] = (tgt, count)
    return {src: tgt for src, (tgt, _count) in table.items()}


def apply_table(tokens: list[str], table: dict[tuple, tuple]) -> tuple[list[str], int]:
    a, out, i, applied = ["<s>", *tokens, "</s>"], [], 0, 0
    while i < len(a):
        for n in range(MAX_TOKENS + 2, 1, -1):
            if tuple(a[i : i + n]) in table:
                out += list(table[tuple(a[i : i + n])][:-1])  # the right context is read again
                i += n - 1
                applied += 1
                break
        else:
            out.append(a[i])
            i += 1
    return out[1:-1], applied


def pronoun_swaps(lm, unigram, rows: list[dict], limit: int, seed: int = 1) -> list[tuple[float, float]]:
    """(LM gain of the best swap, its chrF change against the post-edit) for each it/its of `limit` sentences."""
    chrf = CHRF()

    def charge(word: str) -> float:
        return sum(unigram.surprisal(i) for i in lm.tokenize(" " + word)[0])

    rows = [r for r in rows if _PRONOUN.search(r["mt_detok"])]
    random.Random(seed).shuffle(rows)
    out = []
    for r in rows[:limit]:
        text, pe = r["mt_detok"], " ".join(r["pe_tok"].split())
        before = chrf.sentence_score(text, [pe]).score
        for m in _PRONOUN.finditer(text):
            edits = [(m.start(), m.end(), w) for w in PRONOUNS[m.group()]]
            base, scores = lm.score_edits("", text, edits)
            gains = [s - base - (charge(m.group()) - charge(w)) for s, (_a, _b, w) in zip(scores, edits, strict=True)]
            best = max(range(len(gains)), key=gains.__getitem__)
            fixed = text[: m.start()] + edits[best][2] + text[m.end() :]
            out.append((gains[best], chrf.sentence_score(fixed, [pe]).score - before))
    return out


@click.command()
@click.option("--eval-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=default_eval_dir())
@click.option("--pairs", default="ro,et", show_default=True, help="Pairs measured on dev.")
@click.option("--mine-from", default="ro,et,ru,si,ne", show_default=True, help="Train splits the table is mined from.")
@click.option("--support", default=3, show_default=True)
@click.option("--precision", default=0.4, show_default=True)
@click.option("--pronouns", default=0, show_default=True, help="Also measure pronoun swaps on N sentences per split.")
def main(eval_dir: Path, pairs: str, mine_from: str, support: int, precision: float, pronouns: int) -> None:
    train = [r for p in mine_from.split(",") for r in _rows(eval_dir, p, "train")]
    table = mine(train, support, precision)
    click.echo(f"phrase table: {len(table)} patterns from {len(train)} train sentences")
    chrf, ter = CHRF(), TER()
    for pair in pairs.split(","):
        dev = _rows(eval_dir, pair, "dev")
        hyps, fixed, refs, applied = [], [], [], 0
        for r in dev:
            tokens, n = apply_table(r["mt_tok"].split(), table)
            hyps.append(r["mt_tok"])
            fixed.append(" ".join(tokens))
            refs.append(r["pe_tok"])
            applied += n
        click.echo(
            f"{pair}-en dev, table: chrF {chrf.corpus_score(hyps, [refs]).score:.2f} -> "
            f"{chrf.corpus_score(fixed, [refs]).score:.2f}, TER {ter.corpus_score(hyps, [refs]).score:.2f} -> "
            f"{ter.corpus_score(fixed, [refs]).score:.2f} ({applied} applied)"
        )
    if not pronouns:
        return
    from mtcheck.lm.model import LanguageModel
    from mtcheck.lm.unigram import UnigramTable

    lm = LanguageModel("smollm2-135m")
    unigram = UnigramTable.load(lm.name)
    on_train = [x for p in pairs.split(",") for x in pronoun_swaps(lm, unigram, _rows(eval_dir, p, "train"), pronouns)]
    grid = [g for g in (0.0, 0.5, 1.0, 2.0, 3.0, 4.0) if sum(gain >= g for gain, _d in on_train) >= 20]
    chosen = max(grid, key=lambda g: _mean([d for gain, d in on_train if gain >= g]))
    picked = [d for gain, d in on_train if gain >= chosen]
    click.echo(f"pronoun swaps, train: min gain {chosen} -> {len(picked)} swaps, {_mean(picked):+.2f} chrF each")
    for pair in pairs.split(","):
        on_dev = [d for gain, d in pronoun_swaps(lm, unigram, _rows(eval_dir, pair, "dev"), pronouns) if gain >= chosen]
        click.echo(f"pronoun swaps, {pair}-en dev: {len(on_dev)} swaps, {_mean(on_dev):+.2f} chrF each")


def _mean(x: list[float]) -> float:
    return sum(x) / len(x) if x else 0.0


if __name__ == "__main__":
    main()
