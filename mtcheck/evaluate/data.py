"""Annotated MT data (`../shared/eval/` format): MT text, its whitespace tokens with OK/BAD tags, post-edits.

The MT text is rebuilt from `mt_tok` so that every token has an exact character span in it: MQM files carry
Moses escapes (`&apos;`, `&quot;`) and a final `<EOS>` token whose tag marks an omission.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from mtcheck.core.errors import InputError
from mtcheck.core.text import detokenize, unescape_tokens

EOS = "<EOS>"


def default_eval_dir() -> Path:
    """Where the annotated data lies: $MTCHECK_EVAL_DIR, else `../shared/eval` beside the checkout (or beside
    the working folder, for an installed mtcheck)."""
    if os.environ.get("MTCHECK_EVAL_DIR"):
        return Path(os.environ["MTCHECK_EVAL_DIR"])
    beside_checkout = Path(__file__).resolve().parents[3] / "shared" / "eval"
    beside_cwd = Path.cwd().parent / "shared" / "eval"
    return beside_checkout if beside_checkout.is_dir() or not beside_cwd.is_dir() else beside_cwd


@dataclass
class EvalItem:
    index: int
    text: str  # detokenised MT
    spans: list[tuple[int, int]]  # character span of each MT token (without <EOS>)
    tags: list[bool]  # True = BAD, one per MT token (without <EOS>)
    eos_bad: bool | None  # the <EOS> omission tag where the file has one
    hter: float | None
    post_edit: str | None  # detokenised human post-edit


def source_of(name: str) -> str | None:
    """The source language of a data set named like `mlqe-pe.ro-en.dev.jsonl` (ro), if the name tells."""
    m = re.search(r"(?:^|[._/-])([a-z]{2})-en(?:[._]|$)", name)
    return m.group(1) if m else None


def load(path: Path, limit: int | None = None) -> list[EvalItem]:
    items: list[EvalItem] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                tokens = raw["mt_tok"].split()
                tags = raw["mt_word_tags"]
            except (json.JSONDecodeError, KeyError) as exc:
                raise InputError(f"{path}#{number}", f"not an evaluation line ({exc})") from None
            eos_bad = None
            if tokens and tokens[-1] == EOS:
                tokens = tokens[:-1]
                eos_bad = tags[-1] == "BAD" if len(tags) == len(tokens) + 1 else None
                tags = tags[: len(tokens)]
            if len(tags) != len(tokens):
                raise InputError(f"{path}#{number}", f"{len(tokens)} tokens but {len(tags)} tags")
            text, spans = detokenize(unescape_tokens(tokens))
            post_edit = detokenize(unescape_tokens(raw["pe_tok"].split()))[0] if raw.get("pe_tok") else None
            items.append(
                EvalItem(len(items), text, spans, [t == "BAD" for t in tags], eos_bad, raw.get("hter"), post_edit)
            )
            if limit and len(items) >= limit:
                break
    return items


def data_file(eval_dir: Path, stem: str, split: str) -> Path:
    if stem.startswith("wmt22qe"):
        return eval_dir / f"{stem}.{'train2021news' if split == 'train' else 'dev2022'}.jsonl"
    return eval_dir / f"{stem}.{split}.jsonl"


def sample_items(path: Path, sample: int | None, seed: int) -> list[EvalItem]:
    items = load(path)
    if sample and sample < len(items):
        items = random.Random(seed).sample(items, sample)
    return items


def training_samples(params: dict) -> dict[str, int]:
    """Per pair (data set stem), how many lines of its train split the shipped tagger sampled (seeded by
    params["seed"]), read from the command it was trained with; the specialists train on the same samples."""
    samples = {}
    for spec in params["command"].split("--files ")[1].split(","):
        stem, _, count = spec.partition(":")
        samples[stem] = int(count) if count else params["per_file"]
    return samples


def trained_indices(params: dict, path: Path) -> set[int]:
    """Line indices of a data file that the shipped taggers were trained on (empty for dev splits)."""
    for stem, count in training_samples(params).items():
        if path.name == data_file(path.parent, stem, "train").name:
            return {it.index for it in sample_items(path, count, params["seed"])}
    return set()
