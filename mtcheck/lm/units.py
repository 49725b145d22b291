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
from typing import Any

import numpy as np

from mtcheck.core.types import TokenScore

Entry = tuple[tuple[int, int, int, int], ...]  # a cache entry: segments (batch, row, start, length), in order


@dataclass
class Unit:
    text: str
    base: int  # where the unit starts in the article (token offsets are article offsets)
    ids: list[int]
    offsets: list[tuple[int, int]]  # unit-relative character spans of the tokens
    tokens: list[TokenScore]  # article offsets
    source: str  # the article the unit is part of (a window may read on past the unit's end)
    cache: Entry | None  # where its key-value cache is; None: not cached
    states: np.ndarray | None = None  # (tokens, layers x hidden) float16, the LM's states at each token
    logprobs: np.ndarray | None = None  # per token (a rescored original has these, and no token scores)
    final: Any = None  # (tokens, hidden) tensor: the LM's last states, whence its top choices at a token

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

    def alternatives(self, at: list[tuple[int, int]], k: int) -> list[tuple[int, ...]]:
        """The model's k most likely tokens at each (unit, token index), from the pass's kept final states (a unit
        read in windows has them in its token scores)."""
        import torch

        out: list[tuple[int, ...] | None] = [None] * len(at)
        wanted = [(n, u, i) for n, (u, i) in enumerate(at) if self.units[u].final is not None]
        for n, (u, i) in enumerate(at):
            if self.units[u].final is None:
                out[n] = self.units[u].tokens[i].alternatives[:k]
        if wanted:
            hidden = torch.stack([self.units[u].final[i] for _n, u, i in wanted])
            for (n, _u, _i), top in zip(wanted, self.lm.top_choices(hidden, k), strict=True):
                out[n] = top
        return [x or () for x in out]

    def choice_logprobs(self, at: list[tuple[int, int]], ids: list[tuple[int, ...]]) -> list[tuple[float, ...]]:
        """log p of each token id of `ids[n]` at each (unit, token index) `at[n]`, from the pass's kept final
        states; () where a unit kept none (read in windows)."""
        import torch

        out: list[tuple[float, ...]] = [()] * len(at)
        wanted = [(n, u, i) for n, (u, i) in enumerate(at) if self.units[u].final is not None and ids[n]]
        if wanted:
            hidden = torch.stack([self.units[u].final[i] for _n, u, i in wanted])
            picked = self.lm.choice_logprobs(hidden, [ids[n] for n, _u, _i in wanted])
            for (n, _u, _i), lps in zip(wanted, picked, strict=True):
                out[n] = lps
        return out

    # -- variants ---------------------------------------------------------------------------------------------
    def window_gains(
        self, windows: list[Window | None], horizon: int | None = None, screen: Screen | None = None
    ) -> list[list[float]]:
        """For each window (unit, lo, hi, variants) in article offsets, the log-probability gain (nats) of each
        variant (a, b, r: text[a:b] replaced with r, lo <= a <= b <= hi) over the original text[lo:hi], both read
        after the unit's text before lo (context, not counted). A window may run past its unit's end (a sentence
        read on into the next): the original is then read on from the unit's cache, once per window.

        With `horizon`, each variant and the original are compared from lo up to `horizon` tokens after the end of
        the variant's change, not to hi: an edit changes how the model reads the next few words, and the rest of
        the sentence, the same in both, costs as much again to recompute for a small share of the gain.

        With `screen`, every variant is first read its first stage's tokens past its change; one whose gain there is
        below its floor is not read on (its gain is the screened one, below the floor), the rest are read on to the
        next stage from where they stopped, and those left after the last to `horizon`. Most edits are far from
        mattering after a few tokens (bench/edit_bounds.py)."""
        cached, known = len(self._caches), len(self.units)
        plan = [None if w is None else self._planned(w) for w in windows]
        everyone = [(w, v) for w, item in enumerate(plan) if item is not None for v in range(len(item.variants))]
        gains: dict[tuple[int, int], float] = {}
        on: dict[tuple[int, int], int] = {}  # where a screened variant's reading goes on from (its own cache)
        if screen is None:
            # the originals that run past their unit read on from the unit's cache (theirs kept for the variants)
            self._read_on([(item, None) for item in plan if item is not None and item.read_on])
        for reach, floors in screen.stages if screen else ():
            # the originals read on (from their unit's cache, or on from their own shorter reading) only as far as
            # this stage reads their variants, and the variants as far
            open_keys = [key for key in everyone if key not in gains]
            needed: dict[int, int] = {}
            for w, v in open_keys:
                needed[w] = max(needed.get(w, 0), self._needed(plan[w], v, reach))
            self._read_on(
                [
                    (plan[w], n)
                    for w, n in sorted(needed.items())
                    if plan[w].read_on and (plan[w].logprobs is None or len(plan[w].logprobs) < n)
                ]
            )
            jobs = [self._variant_job(plan[w], v, reach, on.get((w, v))) for w, v in open_keys]
            scores, kept = self._rescore([(j.unit, j.ids) for j in jobs], keep=True)
            for key, job, lp, cache in zip(open_keys, jobs, scores, kept, strict=True):
                gain = job.gain(lp, plan[key[0]])
                if job.reached or gain < floors[key[0]][key[1]]:
                    gains[key] = gain
                else:
                    self.units.append(Unit("", 0, job.ids, [], [], "", cache, logprobs=lp))
                    on[key] = len(self.units) - 1
        # every variant still open, to its horizon (a screened one on from where its screen stopped); a window's
        # original read to the end too where the screen stopped it short, in the same batches
        rest = [key for key in everyone if key not in gains]
        short = sorted(
            {w for w, _v in rest if plan[w].logprobs is not None and len(plan[w].logprobs) < len(plan[w].ids)}
        )
        jobs = [self._variant_job(plan[w], v, horizon, on.get((w, v))) for w, v in rest]
        scores = self.rescore([(plan[w].unit, plan[w].ids) for w in short] + [(j.unit, j.ids) for j in jobs])
        for w, lp in zip(short, scores, strict=False):
            plan[w].logprobs = lp
        gains.update(
            (key, job.gain(lp, plan[key[0]])) for key, job, lp in zip(rest, jobs, scores[len(short) :], strict=True)
        )
        del self._caches[cached:], self.units[known:]  # what this call kept is for this call only
        return [
            [] if item is None else [gains[(w, v)] for v in range(len(item.variants))] for w, item in enumerate(plan)
        ]

    def _planned(self, window: Window) -> _Planned:
        u_index, lo, hi, variants = window
        u = self.units[u_index]
        rel_lo, rel_hi = lo - u.base, hi - u.base
        if rel_hi <= len(u.text) and all(e <= rel_hi for s, e in u.offsets if s < rel_hi):
            return _Planned(u, u_index, rel_lo, rel_hi, variants, u.ids, u.offsets, u.known_logprobs(), False)
        ids, offsets = self.lm.tokenize(u.source[u.base : u.base + rel_hi])
        return _Planned(u, u_index, rel_lo, rel_hi, variants, ids, offsets, None, True)

    def _read_on(self, items: list[tuple[_Planned, int | None]]) -> None:
        """Read each original on from its unit's cache (to the end, or to its first n tokens), its own cache kept:
        the unit its variants are read on."""
        requests = [(item.unit, item.ids if n is None else item.ids[: max(1, n)]) for item, n in items]
        scores, kept = self._rescore(requests, keep=True)
        for (item, _n), (_u, ids), lp, cache in zip(items, requests, scores, kept, strict=True):
            u = item.owner
            self.units.append(Unit(u.text, u.base, ids, [], [], u.source, cache, logprobs=lp))
            item.unit, item.logprobs = len(self.units) - 1, lp

    def _needed(self, item: _Planned, v: int, horizon: int | None) -> int:
        """How many of the original's tokens variant v is compared over, up to `horizon` tokens past its change."""
        cut = _cut(item.offsets, item.variants[v][1] - item.owner.base, item.rel_hi, horizon)
        return sum(1 for s, _e in item.offsets if s < cut)

    def _variant_job(self, item: _Planned, v: int, horizon: int | None, on: int | None = None) -> _Job:
        """Variant v of a window, read up to `horizon` tokens past its change, as a rescoring job (on the
        original's cache, or on `on`: the unit of a reading of it that stopped earlier)."""
        u = item.owner
        a, b, r = item.variants[v]
        cut = _cut(item.offsets, b - u.base, item.rel_hi, horizon)
        text = u.source[u.base + item.rel_lo : a] + r + u.source[b : u.base + cut]
        ids, counted_from = self._ids(u.source[u.base : u.base + item.rel_lo], text)
        return _Job(item.unit if on is None else on, ids, counted_from, cut, cut == item.rel_hi)

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
        """`rescore`, and with `keep` each request's own cache entry (`Entry`), in order (None where
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
            # every request's past gathered slot by slot: per cached batch it is read from, one indexed copy per
            # layer (a copy per segment per layer cost a third of a second on the seeds in Python alone)
            moves: dict[int, tuple[list, list, list, list]] = {}  # batch -> (source rows, slots, rows, slots)
            for (_n, u, shared, _ids, _k), r, pa, _na in places:
                for b, row, start, length in _first(u.cache, shared):
                    src_rows, src_slots, dst_rows, dst_slots = moves.setdefault(b, ([], [], [], []))
                    src_rows += [row] * length
                    src_slots += range(start, start + length)
                    dst_rows += [r] * length
                    dst_slots += range(pa, pa + length)
                    pa += length
            like = self._caches[0][0][0]
            index = {
                b: tuple(torch.tensor(x, dtype=torch.long, device=like.device) for x in m) for b, m in moves.items()
            }
            layers = []
            for layer in range(len(self._caches[0])):
                keys = like.new_zeros((len(rows), like.shape[1], past_len, like.shape[3]))  # on the cache's device
                values = torch.zeros_like(keys)
                for b, (src_rows, src_slots, dst_rows, dst_slots) in index.items():
                    k_full, v_full = self._caches[b][layer]
                    keys[dst_rows, :, dst_slots] = k_full[src_rows, :, src_slots]
                    values[dst_rows, :, dst_slots] = v_full[src_rows, :, src_slots]
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
        """Each request's cache entry: its shared past where that was (the segments of its unit's entry), then its
        new tokens in this batch's output, of which only the new part is kept (one copy per layer)."""
        new = [(la.keys[:, :, past_len:].clone(), la.values[:, :, past_len:].clone()) for la in cache.layers]
        self._caches.append(new)
        batch = len(self._caches) - 1
        for (n, u, shared, ids, _k), r, _pa, na in places:
            kept[n] = (*_first(u.cache, shared), (batch, r, na, len(ids) - shared))


Window = tuple[int, int, int, list[tuple[int, int, str]]]  # (unit, lo, hi, variants (a, b, replacement))


@dataclass(eq=False)
class _Planned:
    """A window to rescore: the unit whose text before it is its context, the original (its ids and offsets
    relative to that unit; its log-probabilities once read) and the unit whose cache holds the original."""

    owner: Unit
    unit: int
    rel_lo: int
    rel_hi: int
    variants: list[tuple[int, int, str]]
    ids: list[int]
    offsets: list[tuple[int, int]]
    logprobs: np.ndarray | None  # None until read on; may cover only the first tokens (a screen's read-on)
    read_on: bool  # the window runs past its unit: the original is read on from the unit's cache

    def region(self, cut: int) -> float:
        """log P of the original from rel_lo to `cut` (the tokens that overlap it)."""
        pairs = zip(self.logprobs, self.offsets, strict=False)
        return float(sum(lp for lp, (s, e) in pairs if e > self.rel_lo and s < cut))


@dataclass(frozen=True)
class _Job:
    """One variant to read: its ids on a unit's cache, the first counted token, where its comparison with the
    original stops, and whether that is the window's end."""

    unit: int
    ids: list[int]
    counted_from: int
    cut: int
    reached: bool

    def gain(self, logprobs: np.ndarray, item: _Planned) -> float:
        return float(np.sum(logprobs[self.counted_from :])) - item.region(self.cut)


@dataclass(frozen=True)
class Screen:
    """Stages of reading: every variant is read the first stage's tokens past its change; only those whose gain
    there reaches their floor (per window, per variant: nats) are read on to the next stage's, and so on; what is
    left after the last stage is read to the horizon."""

    stages: tuple[tuple[int, list[list[float]]], ...]  # (tokens past the change, floors), reach increasing


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

    def places(self, tokens: list[TokenScore]) -> list[tuple[int, int]]:
        """(unit, token index) of each of these tokens of this article's units (for `UnitPass.alternatives`)."""
        at = []
        for t in tokens:
            unit = self.unit_at(t.start)
            assert unit is not None, "a token of this article"
            at.append((unit, next(i for i, x in enumerate(self.passed.units[unit].tokens) if x is t)))
        return at


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


def _first(entry: Entry, n: int) -> list[tuple[int, int, int, int]]:
    """The segments of a cache entry that hold its first n slots."""
    out = []
    for b, row, start, length in entry:
        if n <= 0:
            break
        out.append((b, row, start, min(length, n)))
        n -= length
    return out


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
