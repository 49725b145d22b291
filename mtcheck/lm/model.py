"""Token surprisal, entropy and rank from a causal language model, each with its character span.

A whole article is one context: earlier paragraphs inform later ones, so a name seen once is no longer
surprising the second time. Texts longer than the window are scored with a sliding window whose overlap
gives every token at least `overlap` tokens of left context.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from mtcheck.core.errors import MtcheckError
from mtcheck.core.types import TokenScore
from mtcheck.lm.store import ResolvedModel, resolve
from mtcheck.lm.units import Unit, UnitPass, first_fit

PRECISIONS = ("auto", "bf16", "fp32")


def pick_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise MtcheckError(f"--device {device}: no CUDA device is available here")
    return device


def pick_precision(precision: str | None, device: str) -> str:
    """bf16 where the hardware computes it natively (AVX-512 BF16 on CPU, any CUDA GPU with bf16): 2.5x the
    speed of fp32 on 2 EPYC cores for a mean change of 0.04 nats per token (docs/results.md); else fp32."""
    import torch

    if precision not in (None, "", "auto"):
        if precision not in PRECISIONS:
            raise MtcheckError(f"--precision {precision}: expected one of {', '.join(PRECISIONS)}")
        return precision
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


class LanguageModel:
    """A causal LM that scores text. Load once, score many texts."""

    def __init__(
        self,
        model: str | ResolvedModel | None = None,
        *,
        device: str | None = None,
        window: int = 1024,
        overlap: int = 256,
        batch_tokens: int = 2048,
        precision: str | None = None,
        threads: int | None = None,
    ):
        """`threads`: CPU threads for torch (default: every core; `--jobs N` workers share them out)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # our own progress bar is the one on stderr
        hf_logging.set_verbosity_error()
        self.resolved = model if isinstance(model, ResolvedModel) else resolve(model)
        self.device = pick_device(device)
        self.precision = pick_precision(precision, self.device)
        self.threads = threads or max(1, os.cpu_count() or 1)
        if self.device == "cpu":
            torch.set_num_threads(self.threads)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.resolved.path)
            self.model = AutoModelForCausalLM.from_pretrained(self.resolved.path, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MtcheckError(f"cannot load model {self.resolved.name} from {self.resolved.path}: {first}") from None
        if not self.tokenizer.is_fast:
            raise MtcheckError(f"model {self.resolved.name}: a fast tokenizer is needed for character offsets")
        self.model.to(self.device, dtype=torch.bfloat16 if self.precision == "bf16" else torch.float32).eval()
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
            "precision": self.precision,
            **({"threads": self.threads} if self.device == "cpu" else {}),
        }

    # -- tokenising -----------------------------------------------------------------------------------
    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        with TOKENIZING:
            enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]

    def piece(self, token_id: int) -> str:
        """One token's text."""
        with TOKENIZING:
            return self.tokenizer.decode([token_id])

    # -- scoring --------------------------------------------------------------------------------------
    def score(self, text: str) -> list[TokenScore]:
        """Score every token of one text with all of its left context (sliding window when long)."""
        ids, offsets = self.tokenize(text)
        return self._tokens(Unit(text, 0, ids, offsets, [], text, None), self.score_ids(ids))

    def score_ids(self, ids: list[int]) -> list[tuple]:
        """Per token of one text: (surprisal, entropy, rank, top ids), in windows of `window` tokens whose overlap
        gives every token at least `overlap` tokens of left context."""
        step = self.window - 1 - self.overlap  # new tokens per window (one slot is the prefix token)
        stats: list[tuple] = []
        first_new = 0
        while first_new < len(ids):
            context_start = max(0, first_new - self.overlap)
            last = min(len(ids), first_new + (step if first_new else self.window - 1))
            chunk = ids[context_start:last]
            stats += self._forward([chunk])[0][first_new - context_start :]
            first_new = last
        return stats

    def score_units(
        self,
        texts: list[str],
        bases: list[int] | None = None,
        layers: tuple[int, ...] = (),
        sources: list[str] | None = None,
    ) -> UnitPass:
        """One pass over independent texts, each read alone after the prefix token, batched by length; the
        key-value cache is kept for rescoring variants (`UnitPass.rescore`). `bases[i]`: where text i starts in
        `sources[i]`, the article it is part of (token offsets come out as article offsets); `layers`: hidden
        states kept per token (for a tagger that reads them). A text longer than the window is read in windows
        and not cached."""

        bases = bases or [0] * len(texts)
        sources = sources or texts
        units: list[Unit] = []
        for text, base, source in zip(texts, bases, sources, strict=True):
            ids, offsets = self.tokenize(text)
            units.append(Unit(text, base, ids, offsets, [], source, None))
        caches: list[list[tuple]] = []
        # Packed, not padded: several units share a row (each sees only itself), so a batch is all real tokens.
        # Rows are filled longest first; a unit's results depend only on its own article's packing.
        fits = [i for i in range(len(units)) if 0 < len(units[i].ids) <= self.window - 1]
        for i in range(len(units)):
            u = units[i]
            if len(u.ids) > self.window - 1:  # longer than the window: read in windows, not cached
                u.tokens = self._tokens(u, self.score_ids(u.ids))
                if layers:
                    u.states = np.zeros((len(u.ids), self.model.config.hidden_size * len(layers)), np.float16)
        fits.sort(key=lambda i: -len(units[i].ids))
        width = max([ROW_TOKENS] + [len(units[i].ids) + 1 for i in fits[:1]])
        packed = first_fit([(len(units[i].ids) + 1,) for i in fits], (width,))
        rows = [[fits[k] for k in row] for row in packed]  # unit indices per row
        per_batch = max(1, self.batch_tokens // width)
        for lo in range(0, len(rows), per_batch):
            self._packed_batch(units, rows[lo : lo + per_batch], width, layers, caches)
        return UnitPass(self, units, caches, layers)

    def _packed_batch(
        self, units: list[Unit], rows: list[list[int]], width: int, layers: tuple[int, ...], caches: list
    ) -> None:
        """One forward over rows of packed units: each unit is the prefix token and its ids at its own offset,
        with positions from 0 and attention only within itself; its cache entry is one segment (batch, row, offset,
        its length + 1)."""
        import torch

        input_ids = torch.full((len(rows), width), self.prefix_token_id, dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.eye(width, dtype=torch.bool).repeat(len(rows), 1, 1, 1)  # padding sees itself (no NaN rows)
        place: list[tuple[int, int, int]] = []  # (unit, row, offset)
        for r, members in enumerate(rows):
            at = 0
            for i in members:
                n = len(units[i].ids) + 1
                input_ids[r, at + 1 : at + n] = torch.tensor(units[i].ids, dtype=torch.long)
                positions[r, at : at + n] = torch.arange(n)
                mask[r, 0, at : at + n, at : at + n] = torch.tril(torch.ones((n, n), dtype=torch.bool))
                place.append((i, r, at))
                at += n
        rows_index = torch.cat([torch.full((len(units[i].ids),), r, dtype=torch.long) for i, r, _a in place])
        cols_index = torch.cat([at + torch.arange(len(units[i].ids), dtype=torch.long) for i, _r, at in place])
        dev = self.device
        with torch.inference_mode():
            out = self.decode(
                input_ids.to(dev), mask.to(dev), position_ids=positions.to(dev), use_cache=True, states=bool(layers)
            )
            targets = input_ids.to(dev)[rows_index.to(dev), cols_index.to(dev) + 1]
            final = out.last_hidden_state[rows_index.to(dev), cols_index.to(dev)]
            # no top choices here: a token's are asked for only where an edit may be tried (`UnitPass.alternatives`,
            # from the kept final states), a few dozen tokens an article, where a top-k over every token's
            # vocabulary cost a fifth of the pass's statistics
            stats = self._stats_at(final, targets, True, 0)
            picked = None
            if layers:
                states = torch.cat([out.hidden_states[k] for k in layers], -1)
                picked = states[rows_index.to(dev), cols_index.to(dev) + 1].half().cpu().numpy()
        caches.append([(layer.keys, layer.values) for layer in out.cache.layers])
        k = 0
        for i, r, at in place:
            u, n = units[i], len(units[i].ids)
            u.tokens = self._tokens(u, stats[k : k + n])
            u.cache = ((len(caches) - 1, r, at, n + 1),)
            if picked is not None:
                u.states = picked[k : k + n]
            u.final = final[k : k + n]
            k += n

    def _tokens(self, u: Unit, stats: list[tuple]) -> list[TokenScore]:
        """Token scores with article offsets (a unit's offsets plus where it starts)."""
        text, base = u.text, u.base
        return [
            TokenScore(a + base, b + base, text[a:b] if b > a else self.piece(i), s, e, r, i, top)
            for i, (a, b), (s, e, r, top) in zip(u.ids, u.offsets, stats, strict=True)
        ]

    def score_many(self, texts: list[str]) -> list[list[TokenScore]]:
        """Score independent short texts (one line each), each alone, batched by length to save padding."""
        return [u.tokens for u in self.score_units(texts).units]

    def word_states(
        self, texts: list[str], spans: list[list[tuple[int, int]]], layers: tuple[int, ...]
    ) -> list[np.ndarray]:
        """Per word, the model's hidden states at the word's last piece (the given layers, concatenated), each
        text read alone after the prefix token: what the model made of the word in its left context. Float16,
        shape (words, layers * hidden size); zeros for a word no piece overlaps."""
        units = self.score_units(texts, layers=layers)
        return [units.word_states(i, s) for i, s in enumerate(spans)]

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
        key-value cache of the prefix it shares with the original (`UnitPass.window_gains`).
        """
        units = self.score_units([context + original])
        unit = units.units[0]
        base = float(
            sum(lp for lp, (_s, e) in zip(unit.known_logprobs(), unit.offsets, strict=True) if e > len(context))
        )
        shifted = [(a + len(context), b + len(context), r) for a, b, r in edits]
        (gains,) = units.window_gains([(0, len(context), len(context) + len(original), shifted)])
        return base, [base + g for g in gains]

    def _forward(self, chunks: list[list[int]], want_entropy: bool = True, top_k: int = 5) -> list[list[tuple]]:
        """Run the model over token chunks (each gets the prefix token).

        Per token: (surprisal, entropy, rank, top-k token ids)."""
        import torch

        input_ids, mask = self._padded(chunks)
        with torch.inference_mode():
            hidden = self.decode(input_ids, mask).last_hidden_state
            return self._stats_per_row(hidden, input_ids, [len(c) for c in chunks], want_entropy, top_k)

    def _padded(self, chunks: list[list[int]]):
        """The prefix token and each chunk, right-padded into one batch, and its attention mask."""
        import torch

        width = max(len(c) for c in chunks) + 1
        input_ids = torch.full((len(chunks), width), self.prefix_token_id, dtype=torch.long)
        mask = torch.zeros((len(chunks), width), dtype=torch.long)
        for row, chunk in enumerate(chunks):
            input_ids[row, 1 : len(chunk) + 1] = torch.tensor(chunk, dtype=torch.long)
            mask[row, : len(chunk) + 1] = 1
        return input_ids.to(self.device), mask.to(self.device)

    def decode(self, input_ids, attention_mask=None, *, position_ids=None, cache=None, use_cache=False, states=False):
        """The decoder without its vocabulary head (the head is applied in chunks: see `head_logits`). A boolean
        4-D mask goes in as an additive one in the model's dtype: the same attention (0.0 difference), and on CPU
        1.2-1.6x faster in `scaled_dot_product_attention` at the packed batches' shapes (bench/attention_mask.py)."""
        import torch

        if attention_mask is not None and attention_mask.dim() == 4 and attention_mask.dtype == torch.bool:
            allowed = attention_mask
            attention_mask = torch.zeros(allowed.shape, dtype=self.model.dtype, device=allowed.device)
            attention_mask.masked_fill_(~allowed, float("-inf"))
        return self.model.base_model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            use_cache=use_cache,
            output_hidden_states=states,
        )

    def head_logits(self, hidden):
        """Float32 logits over the vocabulary for hidden states (..., H)."""
        logits = self.model.get_output_embeddings()(hidden).float()
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        return torch_tanh_cap(logits, cap) if cap else logits

    def _stats_per_row(
        self, hidden, input_ids, lengths: list[int], want_entropy: bool, top_k: int
    ) -> list[list[tuple]]:
        """Per row of a right-padded batch, per token: (surprisal, entropy, rank, top-k ids)."""
        import torch

        rows = torch.cat([torch.full((n,), r, dtype=torch.long) for r, n in enumerate(lengths)]).to(hidden.device)
        cols = torch.cat([torch.arange(n, dtype=torch.long) for n in lengths]).to(hidden.device)
        flat = self._stats_at(hidden[rows, cols], input_ids[rows, cols + 1], want_entropy, top_k)
        out, k = [], 0
        for n in lengths:
            out.append(flat[k : k + n])
            k += n
        return out

    def _stats_at(self, picked, targets, want_entropy: bool, top_k: int) -> list[tuple]:
        """Per hidden state (N, H) and the token it predicts (N): (surprisal, entropy, rank, top-k ids). The
        vocabulary head runs a few hundred states at a time: a batch's logits at once would take gigabytes."""
        import torch

        surprisal, entropy, rank, top = [], [], [], []
        for lo in range(0, len(targets), HEAD_CHUNK):
            # on the logits themselves, not a materialised log-softmax: log p = logit - logsumexp, the rank
            # counts larger logits, H = logsumexp - E_p[logit]
            logits = self.head_logits(picked[lo : lo + HEAD_CHUNK])
            target = logits.gather(-1, targets[lo : lo + HEAD_CHUNK, None])
            if not want_entropy:
                surprisal.append(torch.logsumexp(logits, -1) - target[:, 0])
                continue
            # logsumexp and entropy from one exponential of the logits (in place, no temporaries of the logits'
            # size; the two library calls took two): H = logsumexp - sum(e * logit) / sum(e)
            peak = logits.amax(-1, keepdim=True)
            e = torch.sub(logits, peak).exp_()
            total = e.sum(-1)
            lse = peak[:, 0] + total.log()
            surprisal.append(lse - target[:, 0])
            entropy.append(lse - e.mul_(logits).sum(-1) / total)
            rank.append((logits > target).sum(-1, dtype=torch.int32) + 1)  # an int32 count: no int64 sum
            if top_k:
                top.append(logits.topk(top_k, dim=-1).indices)
        if not surprisal:
            return []
        s = torch.cat(surprisal).cpu().tolist()
        e = torch.cat(entropy).cpu().tolist() if want_entropy else [0.0] * len(s)
        r = torch.cat(rank).cpu().tolist() if want_entropy else [1] * len(s)
        t = [tuple(x) for x in torch.cat(top).cpu().tolist()] if top else [()] * len(s)
        return [(s[i], e[i], int(r[i]), t[i]) for i in range(len(s))]

    def top_choices(self, hidden, k: int) -> list[tuple[int, ...]]:
        """The k most likely token ids after each final hidden state (N, H), most likely first."""
        import torch

        out: list[tuple[int, ...]] = []
        with torch.inference_mode():
            for lo in range(0, len(hidden), HEAD_CHUNK):
                top = self.head_logits(hidden[lo : lo + HEAD_CHUNK]).topk(k, dim=-1).indices
                out += [tuple(x) for x in top.cpu().tolist()]
        return out

    def choice_logprobs(self, hidden, ids: list[tuple[int, ...]]) -> list[tuple[float, ...]]:
        """log p of each token id of `ids[n]` after each final hidden state (N, H), in chunks of the vocabulary
        head."""
        import torch

        out: list[tuple[float, ...]] = []
        with torch.inference_mode():
            for lo in range(0, len(ids), HEAD_CHUNK):
                logits = self.head_logits(hidden[lo : lo + HEAD_CHUNK])
                norm = torch.logsumexp(logits, -1)
                for row, choices in enumerate(ids[lo : lo + HEAD_CHUNK]):
                    out.append(tuple((logits[row, list(choices)] - norm[row]).cpu().tolist()))
        return out

    def target_logprobs(self, hidden, targets):
        """log p(target) for each hidden state (N, H) and target id (N), in chunks of the vocabulary head."""
        import torch

        out = []
        for lo in range(0, len(targets), HEAD_CHUNK):
            logits = self.head_logits(hidden[lo : lo + HEAD_CHUNK])
            out.append(logits.gather(-1, targets[lo : lo + HEAD_CHUNK, None])[:, 0] - torch.logsumexp(logits, -1))
        return torch.cat(out) if out else torch.zeros(0)


# Held around every call of a tokenizer: a fast tokenizer's settings (padding side, truncation) live in one Rust
# object that a call may change, and two threads checking articles at once (`--jobs`) would meet there.
TOKENIZING = threading.RLock()
ROW_TOKENS = 128  # the narrowest row of a packed pass (attention costs grow with a row's width)
HEAD_CHUNK = 128  # tokens per call of the vocabulary head (128 x 49,152 float32 logits = 25 MB)


def torch_tanh_cap(logits, cap: float):
    import torch

    return torch.tanh(logits / cap) * cap


def nats_to_bits(x: float) -> float:
    return x / math.log(2)
