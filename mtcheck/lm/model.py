"""Token surprisal, entropy and rank from a causal language model, each with its character span.

A whole article is one context: earlier paragraphs inform later ones, so a name seen once is no longer
surprising the second time. Texts longer than the window are scored with a sliding window whose overlap
gives every token at least `overlap` tokens of left context.
"""

from __future__ import annotations

import math
import os

import numpy as np

from mtcheck.core.errors import MtcheckError
from mtcheck.core.types import TokenScore
from mtcheck.lm.store import ResolvedModel, resolve


def pick_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise MtcheckError(f"--device {device}: no CUDA device is available here")
    return device


class LanguageModel:
    """A causal LM that scores text. Load once, score many texts."""

    def __init__(
        self,
        model: str | ResolvedModel | None = None,
        *,
        device: str | None = None,
        window: int = 1024,
        overlap: int = 256,
        batch_tokens: int = 4096,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # our own progress bar is the one on stderr
        hf_logging.set_verbosity_error()
        self.resolved = model if isinstance(model, ResolvedModel) else resolve(model)
        self.device = pick_device(device)
        if self.device == "cpu":
            torch.set_num_threads(max(1, os.cpu_count() or 1))
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.resolved.path)
            self.model = AutoModelForCausalLM.from_pretrained(self.resolved.path, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MtcheckError(f"cannot load model {self.resolved.name} from {self.resolved.path}: {first}") from None
        if not self.tokenizer.is_fast:
            raise MtcheckError(f"model {self.resolved.name}: a fast tokenizer is needed for character offsets")
        self.model.to(self.device).eval()
        prefix = self.resolved.prefix_token_id
        if prefix is None:
            prefix = self.tokenizer.bos_token_id
        if prefix is None:
            prefix = self.tokenizer.eos_token_id
        self.prefix_token_id: int = int(prefix)
        self.window = window
        self.overlap = overlap
        self.batch_tokens = batch_tokens

    @property
    def name(self) -> str:
        return self.resolved.name

    @property
    def sha256(self) -> str:
        return self.resolved.sha256

    def signature(self) -> dict:
        return {
            "name": self.resolved.name,
            "sha256": self.resolved.sha256,
            "source": self.resolved.source,
            "prefix_token_id": self.prefix_token_id,
            "window": self.window,
            "overlap": self.overlap,
            "device": self.device,
        }

    # -- tokenising -----------------------------------------------------------------------------------
    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]

    # -- scoring --------------------------------------------------------------------------------------
    def score(self, text: str) -> list[TokenScore]:
        """Score every token of one text with all of its left context (sliding window when long)."""
        ids, offsets = self.tokenize(text)
        if not ids:
            return []
        step = self.window - 1 - self.overlap  # new tokens per window (one slot is the prefix token)
        scores: list[TokenScore] = []
        first_new = 0
        while first_new < len(ids):
            context_start = max(0, first_new - self.overlap)
            last = min(len(ids), first_new + (step if first_new else self.window - 1))
            chunk = ids[context_start:last]
            stats = self._forward([chunk])[0]
            skip = first_new - context_start
            for k in range(skip, len(chunk)):
                i = context_start + k
                scores.append(self._token(text, ids[i], offsets[i], *stats[k]))
            first_new = last
        return scores

    def score_many(self, texts: list[str]) -> list[list[TokenScore]]:
        """Score independent short texts (one line each), batched by length to save padding."""
        tokenized = [self.tokenize(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(tokenized[i][0]))
        results: list[list[TokenScore]] = [[] for _ in texts]
        batch: list[int] = []

        def flush() -> None:
            if not batch:
                return
            chunks = [tokenized[i][0][: self.window - 1] for i in batch]
            for i, stats in zip(batch, self._forward(chunks), strict=True):
                ids, offsets = tokenized[i]
                results[i] = [self._token(texts[i], ids[k], offsets[k], *stats[k]) for k in range(len(stats))]
            batch.clear()

        for i in order:
            if not tokenized[i][0]:
                continue
            longest = min(self.window, len(tokenized[i][0]) + 1)
            if batch and longest * (len(batch) + 1) > self.batch_tokens:
                flush()
            batch.append(i)
        flush()
        return results

    def word_states(
        self, texts: list[str], spans: list[list[tuple[int, int]]], layers: tuple[int, ...], batch: int = 32
    ) -> list[np.ndarray]:
        """Per word, the model's hidden states at the word's last piece (the given layers, concatenated), each
        text read alone after the prefix token: what the model made of the word in its left context. Float16,
        shape (words, layers * hidden size); zeros for a word no piece overlaps."""
        import torch

        tokenized = [self.tokenize(t) for t in texts]
        size = self.model.config.hidden_size * len(layers)
        out = [np.zeros((len(s), size), np.float16) for s in spans]
        order = sorted(range(len(texts)), key=lambda i: len(tokenized[i][0]))
        for lo in range(0, len(order), batch):
            rows = [i for i in order[lo : lo + batch] if tokenized[i][0] and spans[i]]
            if not rows:
                continue
            width = min(self.window, max(len(tokenized[i][0]) for i in rows) + 1)
            ids = torch.full((len(rows), width), self.prefix_token_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                piece_ids = tokenized[i][0][: width - 1]
                ids[r, 1 : len(piece_ids) + 1] = torch.tensor(piece_ids, dtype=torch.long)
                mask[r, : len(piece_ids) + 1] = 1
            with torch.inference_mode():
                hidden = self.model(
                    input_ids=ids.to(self.device), attention_mask=mask.to(self.device), output_hidden_states=True
                ).hidden_states
                picked = torch.cat([hidden[k] for k in layers], -1).float().cpu().numpy()
            for r, i in enumerate(rows):
                offsets = tokenized[i][1][: width - 1]
                for j, (a, b) in enumerate(spans[i]):
                    last = [k for k, (x, y) in enumerate(offsets) if x < b and y > a]
                    if last:
                        out[i][j] = picked[r, last[-1] + 1]
        return out

    def sequence_logprob(self, texts: list[str], contexts: list[str] | None = None) -> list[float]:
        """Log-probability (nats) of each text after its context, batched. Used to compare small edits.

        Tokens that lie inside the context are conditioned on but not counted; when the context is longer
        than the window, its beginning is cut off.
        """
        contexts = contexts or [""] * len(texts)
        rows: list[tuple[list[int], int]] = []
        for ctx, txt in zip(contexts, texts, strict=True):
            ids, offsets = self.tokenize(ctx + txt)
            counted_from = sum(1 for _s, e in offsets if e <= len(ctx))
            cut = max(0, len(ids) - (self.window - 1))
            rows.append((ids[cut:], max(0, counted_from - cut)))
        out: list[float] = []
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
        results: dict[int, float] = {}
        batch: list[int] = []
        for n, i in enumerate(order):
            batch.append(i)
            width = len(rows[i][0]) + 1
            if n == len(order) - 1 or width * (len(batch) + 1) > self.batch_tokens:
                stats = self._forward([rows[j][0] for j in batch], want_entropy=False)
                for j, st in zip(batch, stats, strict=True):
                    results[j] = -float(sum(t[0] for t in st[rows[j][1] :]))
                batch = []
        out = [results[i] for i in range(len(rows))]
        return out

    def score_edits(self, context: str, original: str, edits: list[tuple[int, int, str]]) -> tuple[float, list[float]]:
        """Log-probability (nats) of `original` after `context`, and of each edited version of it.

        An edit (a, b, r) replaces original[a:b] with r. The original is run once; each edit reuses the
        key-value cache of the prefix it shares with the original, so only the tokens from the edit on are
        recomputed, and edits that share a prefix length run as one batch.
        """
        import copy

        import torch

        ids, offsets = self.tokenize(context + original)
        ids = ids[-(self.window - 1) :]
        offsets = offsets[-len(ids) :]
        counted = [e > len(context) for _s, e in offsets]
        x = torch.tensor([[self.prefix_token_id, *ids]], device=self.device)
        with torch.inference_mode():
            out = self.model(input_ids=x, use_cache=True)
            cache = out.cache
            logprobs = torch.log_softmax(out.logits[0, :-1].float(), dim=-1)
            token_lp = logprobs.gather(-1, x[0, 1:].unsqueeze(-1)).squeeze(-1).cpu().tolist()
        base = sum(lp for lp, c in zip(token_lp, counted, strict=True) if c)

        groups: dict[int, list[tuple[int, list[int], list[bool]]]] = {}
        for n, (a, b, r) in enumerate(edits):
            text = context + original[:a] + r + original[b:]
            v_ids, v_offsets = self.tokenize(text)
            shared = 0
            while shared < min(len(ids), len(v_ids)) - 1 and ids[shared] == v_ids[shared]:
                shared += 1
            v_counted = [e > len(context) for _s, e in v_offsets]
            groups.setdefault(shared, []).append((n, v_ids[shared:], v_counted[shared:]))
        results = [0.0] * len(edits)
        for shared, members in groups.items():
            prefix_lp = sum(lp for lp, c in zip(token_lp[:shared], counted[:shared], strict=True) if c)
            width = max(len(m[1]) for m in members)
            batch = torch.full((len(members), width), self.prefix_token_id, dtype=torch.long)
            mask = torch.zeros((len(members), 1 + shared + width), dtype=torch.long)
            mask[:, : 1 + shared] = 1
            for row, (_n, suffix, _c) in enumerate(members):
                batch[row, : len(suffix)] = torch.tensor(suffix, dtype=torch.long)
                mask[row, 1 + shared : 1 + shared + len(suffix)] = 1
            past = copy.deepcopy(cache)
            past.crop(-(len(ids) - shared))  # negative: the number of tokens to drop
            if len(members) > 1:
                past.batch_repeat_interleave(len(members))
            with torch.inference_mode():
                logits = self.model(
                    input_ids=batch.to(self.device),
                    attention_mask=mask.to(self.device),
                    cache=past,
                    use_cache=True,
                ).logits.float()
                # the first suffix token is predicted by the last prefix position (kept in the full run)
                first = logprobs[shared] if shared < len(token_lp) else None
                lp = torch.log_softmax(logits, dim=-1)
            for row, (n, suffix, v_counted) in enumerate(members):
                total = prefix_lp
                if suffix and v_counted[0] and first is not None:
                    total += float(first[suffix[0]])
                for k in range(1, len(suffix)):
                    if v_counted[k]:
                        total += float(lp[row, k - 1, suffix[k]])
                results[n] = total
        return base, results

    def _token(
        self,
        text: str,
        token_id: int,
        offset: tuple[int, int],
        s: float,
        e: float,
        r: int,
        alternatives: tuple[int, ...] = (),
    ) -> TokenScore:
        start, end = offset
        piece = text[start:end] if end > start else self.tokenizer.decode([token_id])
        return TokenScore(
            start=start,
            end=end,
            token=piece,
            surprisal=s,
            entropy=e,
            rank=r,
            token_id=token_id,
            alternatives=alternatives,
        )

    def _forward(self, chunks: list[list[int]], want_entropy: bool = True, top_k: int = 5) -> list[list[tuple]]:
        """Run the model over token chunks (each gets the prefix token).

        Per token: (surprisal, entropy, rank, top-k token ids)."""
        import torch

        width = max(len(c) for c in chunks) + 1
        input_ids = torch.full((len(chunks), width), self.prefix_token_id, dtype=torch.long)
        mask = torch.zeros((len(chunks), width), dtype=torch.long)
        for row, chunk in enumerate(chunks):
            input_ids[row, 1 : len(chunk) + 1] = torch.tensor(chunk, dtype=torch.long)
            mask[row, : len(chunk) + 1] = 1
        with torch.inference_mode():
            logits = (
                self.model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device))
                .logits[:, :-1]
                .float()
            )
            logprobs = torch.log_softmax(logits, dim=-1)
            targets = input_ids[:, 1:].to(self.device)
            actual = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            if want_entropy:
                entropy = -(logprobs.exp() * logprobs).sum(-1)
                rank = (logprobs > actual.unsqueeze(-1)).sum(-1) + 1
                top = logprobs.topk(top_k, dim=-1).indices.cpu().tolist()
            else:
                entropy = torch.zeros_like(actual)
                rank = torch.ones_like(actual, dtype=torch.long)
                top = None
        actual, entropy, rank = actual.cpu().tolist(), entropy.cpu().tolist(), rank.cpu().tolist()
        out = []
        for row, chunk in enumerate(chunks):
            out.append(
                [
                    (-actual[row][k], entropy[row][k], int(rank[row][k]), tuple(top[row][k]) if top else ())
                    for k in range(len(chunk))
                ]
            )
        return out


def nats_to_bits(x: float) -> float:
    return x / math.log(2)
