"""One forward pass over independent texts ("units": an article's sentences, or MT lines), each read alone after
the prefix token, kept so that variants of a unit are rescored from the point where they differ.

Why: a check needs three things from the model, and all of them can come from this one pass. Fluency reads each
sentence alone (as the human reference sentences were read); the learned tagger was trained on lines read alone;
and the edit gain compares a sentence with small edits of it, which share every token before the edit. The pass
keeps the key-value cache of every unit, so an edit costs only the tokens from the edit to the end of its window,
batched across the whole article, and no token of the original is computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtcheck.core.types import TokenScore


@dataclass
class Unit:
    text: str
    base: int  # where the unit starts in the article (token offsets are article offsets)
    ids: list[int]
    offsets: list[tuple[int, int]]  # unit-relative character spans of the tokens
    tokens: list[TokenScore]  # article offsets
    source: str  # the article the unit is part of (a window may read on past the unit's end)
    cache: tuple[int, int, int] | None  # (batch, row, offset) of its key-value cache; None: not cached
    states: np.ndarray | None = None  # (tokens, layers x hidden) float16, the LM's states at each token
    logprobs: np.ndarray | None = None  # per token (a rescored original has these, and no token scores)

    def known_logprobs(self) -> np.ndarray:
        if self.logprobs is None:
            self.logprobs = np.asarray([-t.surprisal for t in self.tokens], np.float64)
        return self.logprobs


class UnitPass:
    """The result of `LanguageModel.score_units`."""

    def __init__(self, lm, units: list[Unit], caches: list[list[tuple]], layers: tuple[int, ...]):
        self.lm = lm
        self.units = units
        self._caches = caches  # per batch, per layer: (keys, values) of shape (rows, kv heads, width, head dim)
        self.layers = layers

    def article(self, indices: range | list[int]) -> ArticleScores:
        """The view of one article whose units are these (in article order)."""
        return ArticleScores(self, tuple(indices))

    def word_states(self, unit: int, spans: list[tuple[int, int]]) -> np.ndarray:
        """Per word (article offsets), the LM's states at its last piece; zeros for a word no piece overlaps."""
        u = self.units[unit]
        assert u.states is not None, "score_units was not asked for these layers"
        out = np.zeros((len(spans), u.states.shape[1]), np.float16)
        for j, (a, b) in enumerate(spans):
            last = [k for k, (x, y) in enumerate(u.offsets) if x + u.base < b and y + u.base > a]
            if last:
                out[j] = u.states[last[-1]]
        return out

    # -- variants ---------------------------------------------------------------------------------------------
    def window_gains(self, windows: list[Window | None], horizon: int | None = None) -> list[list[float]]:
        """For each window (unit, lo, hi, variants) in article offsets, the log-probability gain (nats) of each
        variant (a, b, r: text[a:b] replaced with r, lo <= a <= b <= hi) over the original text[lo:hi], both read
        after the unit's text before lo (context, not counted). A window may run past its unit's end (a sentence
        read on into the next): the original is then read on from the unit's cache, once per window.

        With `horizon`, each variant and the original are compared from lo up to `horizon` tokens after the end of
        the variant's change, not to hi: an edit changes how the model reads the next few words, and the rest of
        the sentence, the same in both, costs as much again to recompute for a small share of the gain."""
        # 1. windows that run past their unit: the original read on from the unit's cache, its cache kept
        plan, bases = [], []
        for window in windows:
            if window is None:
                plan.append(None)
                continue
            u_index, lo, hi, variants = window
            u = self.units[u_index]
            rel_lo, rel_hi = lo - u.base, hi - u.base
            aligned = rel_hi <= len(u.text) and all(e <= rel_hi for s, e in u.offsets if s < rel_hi)
            base_job = None
            if not aligned:
                base_job = len(bases)
                ids, offsets = self.lm.tokenize(u.source[u.base : u.base + rel_hi])
                bases.append((u_index, ids, offsets))
            plan.append((u_index, rel_lo, rel_hi, base_job, variants))
        base_scores, kept = self._rescore([(u, ids) for u, ids, _o in bases], keep=True)
        base_units = self._extended([(u, ids) for u, ids, _o in bases], base_scores, kept)
        # 2. every variant, on the cache of the original it differs from, up to its horizon
        jobs: list[tuple[int, list[int], int]] = []  # (unit, candidate ids, index of the first counted token)
        regions: list[float] = []  # per job: log P of the original over the same stretch
        for item in plan:
            if item is None:
                continue
            u_index, rel_lo, rel_hi, base_job, variants = item
            u = self.units[u_index]
            if base_job is None:
                lps, offsets, on = u.known_logprobs(), u.offsets, u_index
            else:
                lps, offsets, on = base_scores[base_job], bases[base_job][2], base_units[base_job]
            context = u.source[u.base : u.base + rel_lo]
            for a, b, r in variants:
                cut = _cut(offsets, b - u.base, rel_hi, horizon)
                regions.append(
                    float(sum(lp for lp, (s, e) in zip(lps, offsets, strict=False) if e > rel_lo and s < cut))
                )
                text = u.source[u.base + rel_lo : a] + r + u.source[b : u.base + cut]
                jobs.append((on, *self._ids(context, text)))
        scores = self.rescore([(u, ids) for u, ids, _c in jobs])
        gains = [float(np.sum(lp[c:])) - region for lp, (_u, _i, c), region in zip(scores, jobs, regions, strict=True)]
        out: list[list[float]] = []
        k = 0
        for item in plan:
            n = 0 if item is None else len(item[4])
            out.append(gains[k : k + n])
            k += n
        return out

    def _extended(self, requests: list[tuple[int, list[int]]], logprobs: list[np.ndarray], caches: list) -> list[int]:
        """Register each rescored original as a unit of its own (with the cache kept for it), for its variants."""
        out = []
        for (u_index, ids), lp, cache in zip(requests, logprobs, caches, strict=True):
            u = self.units[u_index]
            self.units.append(Unit(u.text, u.base, ids, [], [], u.source, cache, logprobs=lp))
            out.append(len(self.units) - 1)
        return out

    def _ids(self, context: str, text: str) -> tuple[list[int], int]:
        """Token ids of context + text, and how many of them lie inside the context (not counted)."""
        ids, offsets = self.lm.tokenize(context + text)
        return ids, sum(1 for _s, e in offsets if e <= len(context))

    def rescore(self, requests: list[tuple[int, list[int]]]) -> list[np.ndarray]:
        """Per request (unit, token ids): the log-probability (nats) of each token, the ids read alone after the
        prefix token. Tokens shared with the start of the unit's own ids are taken from the pass; the rest are
        computed on the unit's cached keys and values, all requests batched by length."""
        return self._rescore(requests)[0]

    def _rescore(self, requests: list[tuple[int, list[int]]], keep: bool = False) -> tuple[list[np.ndarray], list]:
        """`rescore`, and with `keep` each request's own cache entry (batch, row, offset), in order (None where
        nothing was computed on a cache)."""
        lm = self.lm
        results: list[np.ndarray | None] = [None] * len(requests)
        kept: list = [None] * len(requests)
        work = []  # (request, unit, shared, ids)
        for n, (u_index, ids) in enumerate(requests):
            u = self.units[u_index]
            if u.cache is None or len(ids) > lm.window - 1:
                results[n] = np.asarray([-s for s, *_r in lm.score_ids(ids)], np.float64)
                continue
            shared = _common_prefix(u.ids, ids)
            known = u.known_logprobs()[:shared]
            if shared == len(ids) and not keep:
                results[n] = known
                continue
            shared = min(shared, len(ids) - 1)  # at least one token computed (so that a cache comes out)
            known = known[:shared]
            work.append((n, u, shared, ids, known))
        # Packed rows: each row holds several requests, their pasts side by side in the cache and their new tokens
        # side by side in the input, each new token seeing only its own past and its own earlier tokens.
        work.sort(key=lambda w: -(len(w[3]) - w[2]))
        if work:
            new_width = max(RESCORE_ROW, len(work[0][3]) - work[0][2])
            past_width = max(4 * new_width, *(w[2] for w in work))
            packed = first_fit([(len(w[3]) - w[2], w[2]) for w in work], (new_width, past_width))
            rows = [[work[k] for k in row] for row in packed]
            per_batch = max(1, RESCORE_TOKENS // new_width)
            for lo in range(0, len(rows), per_batch):
                self._packed_rescore(rows[lo : lo + per_batch], new_width, keep, results, kept)
        return [r if r is not None else np.zeros(0) for r in results], kept

    def _packed_rescore(self, rows: list[list], width: int, keep: bool, results: list, kept: list) -> None:
        """One forward over rows of packed requests (request, unit, shared, ids, known): the new tokens of each
        on its unit's cached past."""
        import torch

        lm = self.lm
        past_len = max(sum(w[2] for w in row) for row in rows)
        input_ids = torch.full((len(rows), width), lm.prefix_token_id, dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), 1, width, past_len + width), dtype=torch.bool)
        mask[:, 0, :, past_len:] = torch.eye(width, dtype=torch.bool)  # padding sees itself (no NaN rows)
        places = []  # (item, row, past offset, new offset)
        r_index, k_index, targets = [], [], []
        for r, row in enumerate(rows):
            pa = na = 0
            for item in row:
                _n, _u, shared, ids, _k = item
                new = len(ids) - shared
                inputs = ([lm.prefix_token_id] + ids)[shared : len(ids)]  # slot k holds ids[shared + k - 1]
                input_ids[r, na : na + new] = torch.tensor(inputs, dtype=torch.long)
                positions[r, na : na + new] = shared + torch.arange(new)
                mask[r, 0, na : na + new, pa : pa + shared] = True
                block = torch.tril(torch.ones((new, new), dtype=torch.bool))
                mask[r, 0, na : na + new, past_len + na : past_len + na + new] = block
                places.append((item, r, pa, na))
                r_index += [r] * new
                k_index += range(na, na + new)
                targets += ids[shared:]
                pa += shared
                na += new
        cache = None
        if past_len:
            layers = []
            for layer in range(len(self._caches[0])):
                like = self._caches[0][layer][0]
                keys = like.new_zeros((len(rows), like.shape[1], past_len, like.shape[3]))  # on the cache's device
                values = torch.zeros_like(keys)
                for (_n, u, shared, _ids, _k), r, pa, _na in places:
                    if shared:
                        b, row, at = u.cache
                        k_full, v_full = self._caches[b][layer]
                        keys[r, :, pa : pa + shared] = k_full[row, :, at : at + shared]
                        values[r, :, pa : pa + shared] = v_full[row, :, at : at + shared]
                layers.append((keys, values))
            cache = _cache_from(layers)
        dev = lm.device
        with torch.inference_mode():
            out = lm.decode(
                input_ids.to(dev),
                mask.to(dev),
                position_ids=positions.to(dev),
                cache=cache,
                use_cache=cache is not None or keep,
            )
            if keep:
                self._keep_rows(out.cache, places, past_len, kept)
            hidden = out.last_hidden_state
            picked = hidden[torch.tensor(r_index, device=dev), torch.tensor(k_index, device=dev)]
            lps = lm.target_logprobs(picked, torch.tensor(targets, dtype=torch.long, device=dev))
            lps = lps.double().cpu().numpy()
        k = 0
        for (n, _u, shared, ids, known), _r, _pa, _na in places:
            new = len(ids) - shared
            results[n] = np.concatenate([known, lps[k : k + new]])
            k += new

    def _keep_rows(self, cache, places: list, past_len: int, kept: list) -> None:
        """Each request's keys and values, made contiguous (its shared past, then its new tokens), as a cache
        entry of its own."""
        import torch

        for (n, _u, shared, ids, _k), r, pa, na in places:
            new = len(ids) - shared
            rows = []
            for layer in cache.layers:
                k, v = (
                    torch.cat([t[r, :, pa : pa + shared], t[r, :, past_len + na : past_len + na + new]], 1)
                    for t in (layer.keys, layer.values)
                )
                rows.append((k[None], v[None]))
            self._caches.append(rows)
            kept[n] = (len(self._caches) - 1, 0, 0)


Window = tuple[int, int, int, list[tuple[int, int, str]]]  # (unit, lo, hi, variants (a, b, replacement))


@dataclass(frozen=True)
class ArticleScores:
    """One article's share of a pass: its units (in article order), its tokens, its windows."""

    passed: UnitPass
    indices: tuple[int, ...]

    @property
    def tokens(self) -> list[TokenScore]:
        return [t for i in self.indices for t in self.passed.units[i].tokens]

    def segment_tokens(self) -> list[list[TokenScore]]:
        return [self.passed.units[i].tokens for i in self.indices]

    def unit_at(self, position: int) -> int | None:
        """The unit whose text holds an article offset."""
        for i in self.indices:
            u = self.passed.units[i]
            if u.base <= position < u.base + max(1, len(u.text)):
                return i
        return None

    def window(
        self, lo: int, hi: int, variants: list[tuple[int, int, str]], context_from: int | None = None
    ) -> Window | None:
        """text[lo:hi] and its variants, read after the text from the start of the unit that holds `context_from`
        (default: lo) up to lo; None when that offset is in no unit."""
        unit = self.unit_at(lo if context_from is None else context_from)
        return None if unit is None else (unit, lo, hi, variants)

    def word_states(self, unit: int, spans: list[tuple[int, int]]) -> np.ndarray:
        return self.passed.word_states(unit, spans)


RESCORE_TOKENS = 1024  # new tokens per rescoring batch (rows x width)
RESCORE_ROW = 64  # the narrowest row of new tokens (its pasts get four times as many slots)


def _cut(offsets: list[tuple[int, int]], changed_to: int, end: int, horizon: int | None) -> int:
    """Where a variant's comparison stops: after the first `horizon` tokens of the original that start at or after
    `changed_to` (the end of the change), or at the window's end."""
    if horizon is None:
        return end
    first = next((k for k, (s, _e) in enumerate(offsets) if s >= changed_to), len(offsets))
    last = first + horizon - 1
    return end if last >= len(offsets) else min(end, offsets[last][1])


def first_fit(sizes: list[tuple[int, ...]], capacity: tuple[int, ...]) -> list[list[int]]:
    """Items (indices into `sizes`, in the order given) packed into rows of `capacity`: each goes into the first row
    with room for it in every dimension, else a new row."""
    rows: list[list[int]] = []
    room: list[list[int]] = []
    for k, size in enumerate(sizes):
        r = next((i for i, free in enumerate(room) if all(f >= n for f, n in zip(free, size, strict=True))), None)
        if r is None:
            rows.append([])
            room.append(list(capacity))
            r = len(rows) - 1
        rows[r].append(k)
        room[r] = [f - n for f, n in zip(room[r], size, strict=True)]
    return rows


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _cache_from(layers: list[tuple]):
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=layers)
