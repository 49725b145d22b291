"""Training of the encoder tagger (see `tagger.py`), called by `python -m mtcheck.training.train`."""

from __future__ import annotations

import random
import time
from pathlib import Path

import click
import numpy as np

from mtcheck.evaluate.data import EvalItem
from mtcheck.lm.unigram import UnigramTable
from mtcheck.reading.formats import line_article
from mtcheck.signals.features import word_features
from mtcheck.signals.rules import run_rules
from mtcheck.signals.tagger import Encoded, build_net, collate, encode_words


def sentence_rows(items: list[EvalItem], scores: list, unigram: UnigramTable | None) -> list[np.ndarray]:
    """Raw word features of every sentence."""
    rows = []
    for item, toks in zip(items, scores, strict=True):
        hits = run_rules(line_article(item.text, item.index, "eval"))
        rows.append(word_features(item.text, item.spans, toks, unigram, hits))
    return rows


class Examples:
    """Encoded sentences with standardised features, word labels and HTER (NaN where the file has none)."""

    def __init__(self, tokenizer, items: list[EvalItem], rows: list[np.ndarray], mean, std):
        self.encoded: list[Encoded] = [encode_words(tokenizer, it.text, it.spans) for it in items]
        self.features = [(r - mean) / std for r in rows]
        self.labels = [np.asarray(it.tags, np.float32) for it in items]
        self.hter = np.array([np.nan if it.hter is None else it.hter for it in items], np.float32)
        self.states: list[np.ndarray] | None = None  # per sentence, the LM states rows a tagger reads (if any)

    def __len__(self) -> int:
        return len(self.encoded)

    def batches(self, size: int, rng: random.Random | None):
        """Batches of similar length (less padding); shuffled when a generator is given."""
        order = sorted(range(len(self)), key=lambda i: len(self.encoded[i].input_ids))
        chunks = [order[lo : lo + size] for lo in range(0, len(order), size)]
        if rng is not None:
            rng.shuffle(chunks)
        return chunks


def _tensors(ex: Examples, idx: list[int], pad_id: int):
    import torch

    states = [ex.states[i] for i in idx] if ex.states is not None else None
    inputs = collate([(ex.encoded[i], ex.features[i]) for i in idx], pad_id, states)
    word_mask = inputs[3]
    labels = torch.zeros(word_mask.shape, dtype=torch.float32)
    for row, i in enumerate(idx):
        labels[row, : len(ex.labels[i])] = torch.from_numpy(ex.labels[i])
    hter = torch.from_numpy(ex.hter[idx])
    return inputs, labels, hter


def predict(net, ex: Examples, pad_id: int, size: int = 64) -> tuple[list[np.ndarray], np.ndarray]:
    """Raw word logits per sentence and the predicted HTER."""
    import torch

    net.eval()
    logits: list[np.ndarray | None] = [None] * len(ex)
    hter = np.zeros(len(ex), np.float32)
    with torch.inference_mode():
        for idx in ex.batches(size, None):
            inputs, _labels, _h = _tensors(ex, idx, pad_id)
            z, s = net(*inputs)
            for row, i in enumerate(idx):
                logits[i] = z[row, : len(ex.labels[i])].numpy()
                hter[i] = float(s[row])
    return logits, hter  # type: ignore[return-value]


def batch_loss(net, ex: Examples, idx: list[int], pad_id: int):
    """The training loss of one batch: word BCE plus twice the HTER MSE where the data has HTER; and the word
    loss alone, for progress reports."""
    import torch

    inputs, labels, hter = _tensors(ex, idx, pad_id)
    z, s = net(*inputs)
    mask = inputs[3]
    word_loss = torch.nn.functional.binary_cross_entropy_with_logits(z[mask], labels[mask])
    known = ~torch.isnan(hter)
    sent_loss = torch.nn.functional.mse_loss(s[known], hter[known]) if known.any() else z.sum() * 0
    return word_loss + 2.0 * sent_loss, word_loss


def train_tagger(
    encoder_dir: Path,
    tokenizer,
    train: Examples,
    n_features: int,
    seed: int,
    epochs: int,
    trainable_layers: int,
    hidden: int,
    on_epoch=None,
):
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    net = build_net(encoder_dir, n_features, trainable_layers, hidden)
    encoder_params = [p for p in net.encoder.parameters() if p.requires_grad]
    head_params = list(net.word_head.parameters()) + list(net.sentence_head.parameters())
    opt = torch.optim.AdamW(
        [{"params": encoder_params, "lr": 1e-4}, {"params": head_params, "lr": 1e-3}], weight_decay=0.01
    )
    steps = epochs * len(train.batches(32, None))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1e-4, 1e-3], total_steps=steps, pct_start=0.1)
    pad_id = tokenizer.pad_token_id or 0
    started = time.time()
    for epoch in range(epochs):
        net.train()
        total, count = 0.0, 0
        for step, idx in enumerate(train.batches(32, rng)):
            loss, word_loss = batch_loss(net, train, idx, pad_id)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(word_loss.detach()) * len(idx)
            count += len(idx)
            if step % 50 == 0:
                click.echo(
                    f"  epoch {epoch + 1} step {step}: word loss {total / count:.4f} ({time.time() - started:.0f} s)",
                    err=True,
                )
        if on_epoch:
            on_epoch(epoch, net)
    return net
