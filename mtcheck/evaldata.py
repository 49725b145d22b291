"""Annotated MT data (`../shared/eval/` format): MT text, its whitespace tokens with OK/BAD tags, post-edits.

The MT text is rebuilt from `mt_tok` so that every token has an exact character span in it: MQM files carry
Moses escapes (`&apos;`, `&quot;`) and a final `<EOS>` token whose tag marks an omission.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .textutil import detokenize, unescape_tokens

EOS = "<EOS>"


@dataclass
class EvalItem:
    index: int
    text: str  # detokenised MT
    spans: list[tuple[int, int]]  # character span of each MT token (without <EOS>)
    tags: list[bool]  # True = BAD, one per MT token (without <EOS>)
    eos_bad: bool | None  # the <EOS> omission tag where the file has one
    hter: float | None
    post_edit: str | None  # detokenised human post-edit


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
