"""Restoration benchmark: human-written English news with MT-like artifacts planted in it (seeded, documented
in `mtcheck/training/artifacts.py`), checked whole in article context as `mtcheck check` checks an article; per
artifact class and overall it prints

- detection recall: the share of planted artifacts that a flag overlaps;
- top-1 / top-5 restoration: the share of planted artifacts whose sentence reads exactly as the original once
  the first (any of the first five) suggestion of a flag over it is applied (spaces collapsed);
- harm: the share of the untouched sentences in which a suggestion with confidence >= 0.5 proposes a change (it
  would change correct text), and the share where such a change alters a word (the rest add or move punctuation:
  human news has a few full stops lost where a caption or headline ran into the text); with `--untouched N`, the
  same articles as they are: confident suggestions per 5,000 words of human news. A suggestion's confidence is
  its own (`Suggestion.confidence`), or its flag's where no suggestion model ships.

Side by side, on the same sentences, the GEC libraries alone (`mtcheck/correct/gec.py`): the
GECToR-style tagger of quire-grammar-model and Harper. For them a planted artifact is detected when an edit
they propose overlaps it; top-1 is the sentence as the tool alone corrects it; top-5 adds each of the first
five suggestions of an edit over the artifact, applied alone; harm is the share of untouched sentences the
tool changes (they have no confidence to hold back on).

    .venv/bin/python bench/restore.py [--articles 40] [--rate 0.25] [--seed 13] [--records DIR] [--no-baselines]
        [--untouched 40] [--idioms 0.5]

Articles: the English-original news and the professional translations (refA, refB) of the dev article files,
in file order, the first `--articles` of them with at least 8 sentences. Dev only: nothing here is fitted.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.core.report import Report  # noqa: E402
from mtcheck.core.text import WORD  # noqa: E402
from mtcheck.correct.corrector import sureness  # noqa: E402
from mtcheck.correct.gec import apply_edits, touches  # noqa: E402
from mtcheck.reading import feed_item_article  # noqa: E402
from mtcheck.training.artifacts import ALL_KINDS, Planted, plant, plant_idioms, sentences  # noqa: E402

ARTICLES = ROOT.parent / "shared" / "eval" / "articles"
FILES = ("enorig.dev.jsonl", "wmt21-ruen.dev.jsonl", "wmt21-jaen.dev.jsonl")
TRAIN_FILES = ("mqm21-ted-zhen.train.jsonl",)
HARM_CONFIDENCE = 0.5


@dataclass
class Outcome:
    tool: str
    kind: str
    detected: bool
    rank: int | None  # 1-based rank of the first suggestion that restores the sentence, None: none does
    sure: bool = False  # that suggestion is sure to HARM_CONFIDENCE or more (a person may take it on trust)


def baseline_outcome(tool, kind: str, sentence: str, start: int, end: int, original: str) -> Outcome:
    """What a GEC library alone does with one corrupted sentence (the artifact at [start, end) in it)."""
    over = [group for group in tool.proposals(sentence) if any(touches(edit, start, end) for edit in group)]
    rank = 1 if _same(tool.correct(sentence), original) else None
    if rank is None:
        tried = [edit for group in over for edit in group[:5]]
        rank = 5 if any(_same(apply_edits(sentence, [e]), original) for e in tried) else None
    return Outcome(tool.name, kind, bool(over), rank)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def human_articles(limit: int, train: bool = False) -> list[tuple[str, str]]:
    """Dev: English-original news and professional translations. `train`: the human translations (`ref`, `refB`)
    of the TED training talks instead, for fitting what the benchmark must not be fitted on."""
    out = []
    for name in TRAIN_FILES if train else FILES:
        for line in (ARTICLES / name).read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            human = str(item.get("who", "")).startswith("ref") if train else item.get("human")
            if human and len(sentences(item["text"])) >= 8:
                out.append((str(item["id"]), item["text"]))
            if len(out) >= limit:
                return out
    return out


def restored_rank(report: Report, p: Planted) -> tuple[bool, int | None, bool]:
    """Whether a flag overlaps the artifact, the best rank at which a suggestion of such a flag restores the
    original sentence, and whether that suggestion is sure to HARM_CONFIDENCE."""
    text = report.text
    over = [f for f in report.flags if f.start < p.end and f.end > p.start]
    best, sure = None, False
    for f in over:
        for rank, s in enumerate(f.suggestions, 1):
            fixed = text[: s.start] + s.replacement + text[s.end :]
            delta = len(fixed) - len(text)
            if (
                s.start >= p.sentence_start
                and s.end <= p.sentence_end
                and _same(fixed[p.sentence_start : p.sentence_end + delta], p.original)
            ):
                if best is None or rank < best:
                    best, sure = rank, sureness(f, s) >= HARM_CONFIDENCE
                break
    return bool(over), best, sure


def untouched(text: str, planted: list[Planted]) -> list[tuple[int, int]]:
    """The sentences no artifact was planted in, the headline aside (never planted in, nor measured)."""
    touched = [(p.sentence_start, p.sentence_end) for p in planted]
    return [(a, b) for a, b in sentences(text)[1:] if not any(a < e and b > s for s, e in touched)]


def confident(flag) -> list:
    """The flag's suggestions sure to HARM_CONFIDENCE or more (their own confidence, else the flag's)."""
    return [s for s in flag.suggestions if sureness(flag, s) >= HARM_CONFIDENCE]


def harm(report: Report, planted: list[Planted]) -> tuple[int, int, int]:
    """(untouched sentences where a confident flag proposes a change, those where the change alters a word,
    untouched sentences). The second is the issue's "a suggestion that changes a correct word"; the first also
    counts punctuation only, such as a full stop the human text itself lost ("quarantine. The decision")."""
    text = report.text
    clean = untouched(text, planted)
    hurt = hurt_words = 0
    for a, b in clean:
        sure = [s for f in report.flags if f.start < b and f.end > a for s in confident(f)]
        if sure:
            hurt += 1
            words = WORD.findall(text[a:b])
            for s in sure:
                fixed = text[: s.start] + s.replacement + text[s.end :]
                if WORD.findall(fixed[a : b + len(fixed) - len(text)]) != words:
                    hurt_words += 1
                    break
    return hurt, hurt_words, len(clean)


@click.command()
@click.option("--articles", default=40, show_default=True, help="Human articles to corrupt.")
@click.option("--rate", default=0.25, show_default=True, help="Share of sentences given one artifact each.")
@click.option("--seed", default=13, show_default=True)
@click.option(
    "--idioms",
    "idiom_rate",
    default=0.5,
    show_default=True,
    help="Share of the sentences left alone that hold a listed English idiom given its calque instead "
    "(training/idioms.py; their own random stream, so the other artifacts stay as they were). 0: none.",
)
@click.option("--records", type=click.Path(file_okay=False, path_type=Path), help="Keep each report's JSON here.")
@click.option("--baselines/--no-baselines", default=True, show_default=True, help="Run the GEC libraries alone too.")
@click.option(
    "--untouched",
    "as_they_are",
    default=0,
    show_default=True,
    help="Also check this many of the human articles as they are, and count the confident suggestions there.",
)
@click.option("--train", is_flag=True, help="Plant in the TED talks' human translations instead (train split).")
def main(
    articles: int,
    rate: float,
    seed: int,
    idiom_rate: float,
    records: Path | None,
    baselines: bool,
    as_they_are: int,
    train: bool,
) -> None:
    from mtcheck.correct.gec import HarperLinter, QuireTagger
    from mtcheck.pipeline import Checker

    checker = Checker()
    tools = [QuireTagger(), HarperLinter()] if baselines else []
    rng = random.Random(seed)
    idiom_rng = random.Random(f"idioms {seed}")
    outcomes: list[Outcome] = []
    hurt = hurt_words = clean = words = 0
    tool_hurt: Counter[str] = Counter()
    start = time.perf_counter()
    for n, (item_id, text) in enumerate(human_articles(articles, train)):
        corrupted, planted = plant(text, rng, rate=rate)
        if idiom_rate > 0:
            corrupted, planted = plant_idioms(corrupted, planted, idiom_rng, idiom_rate)
        article = feed_item_article({"id": item_id, "text": corrupted}, f"#{n + 1}", str(n))
        report = checker.check(article)
        if records is not None:
            records.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]", "_", item_id)
            (records / f"{name}.json").write_text(json.dumps(report.to_json()), encoding="utf-8")
            kept = [vars(p) for p in planted]  # what was planted where: the labels of the records
            (records / f"{name}.planted.json").write_text(json.dumps(kept), encoding="utf-8")
        for p in planted:
            detected, rank, sure = restored_rank(report, p)
            outcomes.append(Outcome("mtcheck", p.kind, detected, rank, sure))
            sentence = corrupted[p.sentence_start : p.sentence_end]
            a, b = p.start - p.sentence_start, p.end - p.sentence_start
            outcomes += [baseline_outcome(t, p.kind, sentence, a, b, p.original) for t in tools]
        for t in tools:
            tool_hurt[t.name] += sum(
                corrupted[a:b] != t.correct(corrupted[a:b]) for a, b in untouched(corrupted, planted)
            )
        h, hw, c = harm(report, planted)
        hurt, hurt_words, clean, words = hurt + h, hurt_words + hw, clean + c, words + len(corrupted.split())
        click.echo(f"  {n + 1}: {item_id}: {len(planted)} planted, {len(report.flags)} flags", err=True)
    seconds = time.perf_counter() - start

    names = ["mtcheck", *(t.name for t in tools)]

    def cells(group: list[Outcome]) -> str:
        k = len(group)
        if not k:
            return f"{'-':>7} {'-':>6} {'-':>6}"
        det = sum(o.detected for o in group) / k
        top1 = sum(o.rank == 1 for o in group) / k
        top5 = sum(o.rank is not None and o.rank <= 5 for o in group) / k
        return f"{det:>7.1%} {top1:>6.1%} {top5:>6.1%}"

    planted_total = sum(o.tool == "mtcheck" for o in outcomes)
    click.echo(
        f"articles {min(articles, len(human_articles(articles, train)))}, words {words}, planted {planted_total} "
        f"(rate {rate}, idioms {idiom_rate}, seed {seed}); {seconds:.0f} s"
    )
    click.echo(f"{'':<20} {'':>5} " + " | ".join(f"{n:^22}" for n in names))
    click.echo(f"{'class':<20} {'n':>5} " + " | ".join(f"{'found':>7} {'top-1':>6} {'top-5':>6} " for _ in names))
    for kind in [*ALL_KINDS, "all"]:
        mine = [o for o in outcomes if kind in ("all", o.kind)]
        n = sum(o.tool == "mtcheck" for o in mine)
        if n:
            click.echo(f"{kind:<20} {n:>5} " + " | ".join(cells([o for o in mine if o.tool == t]) + " " for t in names))
    mine = [o for o in outcomes if o.tool == "mtcheck"]
    top1 = [o for o in mine if o.rank == 1]
    click.echo(
        f"sure: {sum(o.sure for o in top1)} of the {len(top1)} top-1 restorations have confidence >= {HARM_CONFIDENCE} "
        f"({sum(o.sure for o in top1) / max(1, len(mine)):.1%} of the planted artifacts restored by a confident "
        "top suggestion)"
    )
    click.echo(
        f"harm: mtcheck {hurt} of {clean} untouched sentences ({hurt / clean if clean else 0:.1%}) get a suggestion "
        f"with confidence >= {HARM_CONFIDENCE}, {hurt_words} ({hurt_words / clean if clean else 0:.1%}) one that "
        "changes a word"
        + "".join(f"; {t} changes {tool_hurt[t]} ({tool_hurt[t] / clean if clean else 0:.1%})" for t in names[1:])
    )
    if as_they_are:
        sure_flags = sure_suggestions = human_words = 0
        for n, (item_id, text) in enumerate(human_articles(as_they_are, train)):
            report = checker.check(feed_item_article({"id": item_id, "text": text}, f"#{n + 1}", str(n)))
            sure = [(f, confident(f)) for f in report.flags]
            sure_flags += sum(1 for _f, c in sure if c)
            sure_suggestions += sum(len(c) for _f, c in sure)
            human_words += len(text.split())
            for f, c in sure:
                for sug in c:
                    click.echo(f"  confident on human news: {item_id}: “{f.text}” -> “{sug.replacement}”", err=True)
        click.echo(
            f"do no harm: {sure_suggestions} suggestions with confidence >= {HARM_CONFIDENCE} (on {sure_flags} flags) "
            f"in {human_words} words of untouched human news ({as_they_are} articles): "
            f"{5000 * sure_suggestions / max(1, human_words):.2f} per 5,000 words"
        )
    click.echo(f"signature: {checker.signature().short()}")


if __name__ == "__main__":
    main()
