"""Per-source specialists: the shipped tagger fine-tuned one more epoch on one language pair's training split.

The pooled tagger serves text of unknown origin. When the source language is known (`--source-lang`, or `eval`
reading it from the file name), a specialist reads MT lines of that pair instead: measured on dev, one epoch on
et-en's 7,000 training sentences raised word MCC from 0.359 to 0.375 (0.390 with LM states), and on ru-en from
0.248 to 0.267; a second epoch did not help. Articles, and severity, keep the pooled tagger and its scale.

    python -m mtcheck.training.specialise --source et --source ru   # after train; about 2 minutes each

With `--lm-layers 10,20,30` the specialist also reads SmolLM2's own hidden states of each word and of the word
after it (`tagger.LMStates`): the encoder is small and uncased, the LM read two trillion tokens. Its head starts
widened with zero weights, i.e. as the pooled tagger. The states of the training sample are computed once
(about 5 minutes for 7,000 sentences) and cached in build/cache; at run time they cost one more LM pass per line.

With `--context 9` the word head also reads the eight words around each word (a residual convolution over
the head's hidden vectors, `tagger.build_net`): post-editors rewrite phrases, not single words. With `--members 3`
three specialists are trained from seeds seed, seed+1, seed+2 and their logits averaged (`tagger.TaggerEnsemble`).
et-en dev, tagger alone, word MCC over seeds 13/14/15: 0.390/0.384/- without context, 0.399/0.392/0.397 with
context 9, 0.401 for the three averaged.

Seeded; the dev split chooses the specialist's calibration and threshold, as for the pooled tagger. Run it again
after `train`, which rewrites the detector JSON.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

import click
import numpy as np

from mtcheck.lm.model import LanguageModel
from mtcheck.lm.store import resolve
from mtcheck.lm.unigram import UnigramTable
from mtcheck.models import DETECTOR_DIR
from mtcheck.signals.tagger import LMStates, Tagger, TaggerEnsemble

STEMS = {"ro": "mlqe-pe.ro-en", "et": "mlqe-pe.et-en", "ru": "mlqe-pe.ru-en", "zh": "wmt22qe.zh-en"}
ENCODER_LR = 1e-4


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--source", "sources", multiple=True, type=click.Choice(sorted(STEMS)), required=True)
@click.option("--eval-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--epochs", default=1, show_default=True)
@click.option("--seed", default=13, show_default=True)
@click.option("--lr", default=ENCODER_LR, show_default=True, help="Encoder learning rate (the heads get 10x).")
@click.option(
    "--lm-layers",
    default="",
    help="Also read the LM's hidden states of each word at these layers (comma-separated, e.g. 10,20,30).",
)
@click.option("--lm-next/--no-lm-next", default=True, show_default=True, help="And those of the following word.")
@click.option("--lm-hidden", default=64, show_default=True, help="Width of the LM states' projection.")
@click.option("--context", default=0, show_default=True, help="Window (words, odd) the word head also reads; 0: none.")
@click.option("--members", default=1, show_default=True, help="Taggers trained from seeds seed, seed+1, ...; averaged.")
def main(
    model: str,
    sources: tuple[str, ...],
    eval_dir: Path | None,
    epochs: int,
    seed: int,
    lr: float,
    lm_layers: str,
    lm_next: bool,
    lm_hidden: int,
    context: int,
    members: int,
) -> None:
    from transformers import AutoTokenizer

    from mtcheck.evaluate.data import data_file, default_eval_dir, training_samples
    from mtcheck.training.train import calibrate_on_dev, save_trainable, scored_items, word_states
    from mtcheck.training.train_tagger import Examples, predict, sentence_rows

    eval_dir = eval_dir or default_eval_dir()
    lm = LanguageModel(model)
    unigram = UnigramTable.load(lm.name)
    path = DETECTOR_DIR / f"{lm.name}.json"
    params = json.loads(path.read_text())
    tokenizer = AutoTokenizer.from_pretrained(resolve(params.get("encoder", "minilm-l6")).path)
    pad_id = tokenizer.pad_token_id or 0
    mean, std = np.asarray(params["mean"], np.float32), np.asarray(params["std"], np.float32)
    layers = tuple(int(x) for x in lm_layers.split(",") if x.strip())
    lm_states = LMStates(layers, lm_next, lm_hidden, lm.model.config.hidden_size) if layers else None
    for source in sources:
        started = time.time()
        stem = STEMS[source]
        data = {}
        for split in ("train", "dev"):
            file = data_file(eval_dir, stem, split)
            # the pooled tagger's own training sample of this pair (its LM scores are cached)
            sample = training_samples(params).get(stem, params["per_file"]) if split == "train" else None
            items, scores = scored_items(lm, file, sample, params["seed"])
            data[split] = Examples(tokenizer, items, sentence_rows(items, scores, unigram), mean, std)
            if lm_states is not None:
                data[split].states = [lm_states.rows(st) for st in word_states(lm, file, items, layers)]
        train, dev = data["train"], data["dev"]
        y = np.concatenate(dev.labels) > 0
        saved, member_logits, member_figures = [], [], []
        for k in range(members):
            net = train_member(params, lm_states, context, train, pad_id, seed + k, epochs, lr)
            logits, _ = predict(net, dev, pad_id)
            member_logits.append(logits)
            member_figures.append(calibrate_on_dev(logits, y, dev.hter)[2])
            suffix = "" if k == 0 else f".{k + 1}"
            weights = DETECTOR_DIR / f"{lm.name}.tagger.{source}{suffix}.safetensors"
            save_trainable(net, weights)
            saved.append(
                {
                    "weights": weights.name,
                    "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
                    "seed": seed + k,
                }
            )
            click.echo(f"  {source} member {k + 1}/{members}: dev {member_figures[-1]} ({time.time() - started:.0f} s)")
        # the ensemble's logit is the members' mean (`tagger.TaggerEnsemble`); calibration and threshold are its own
        logits = TaggerEnsemble.average(member_logits)
        ab, threshold, figures = calibrate_on_dev(logits, y, dev.hter)
        params["by_source"][source]["specialist"] = {
            "weights": saved[0]["weights"],
            "weights_sha256": saved[0]["weights_sha256"],
            "members": saved,
            "platt": ab,
            "threshold": threshold,
            "epochs": epochs,
            "seed": seed,
            "lr": lr,
            "context": context,
            "train_sentences": len(train),
            "lm_states": lm_states.to_json() if lm_states else None,
            "dev": figures,
            "dev_members": member_figures,
            "before": {k: params["dev"][source][k] for k in ("mcc", "hter_pearson")},
            "command": f"python -m mtcheck.training.specialise --model {model} --source {source} "
            f"--epochs {epochs} --seed {seed} --lr {lr} --context {context} --members {members}"
            + (
                f" --lm-layers {lm_layers} --{'' if lm_next else 'no-'}lm-next --lm-hidden {lm_hidden}"
                if layers
                else ""
            ),
        }
        path.write_text(json.dumps(params, indent=1))
        stale = sorted(DETECTOR_DIR.glob(f"{lm.name}.tagger.{source}.*.safetensors"))
        for old in stale:  # members of an earlier, larger ensemble
            if old.name not in {m["weights"] for m in saved}:
                old.unlink()
        click.echo(
            f"{source}: dev word MCC {params['dev'][source]['mcc']} -> {figures['mcc']}, HTER Pearson "
            f"{params['dev'][source]['hter_pearson']} -> {figures['hter_pearson']} ({time.time() - started:.0f} s); "
            f"wrote {', '.join(m['weights'] for m in saved)}"
        )


def train_member(params: dict, lm_states, context: int, train, pad_id: int, seed: int, epochs: int, lr: float):
    """One specialist: the pooled tagger (widened for LM states and word context, with zero weights for them)
    fine-tuned on one pair's training split."""
    import torch

    from mtcheck.training.train_tagger import batch_loss

    torch.manual_seed(seed)  # the LM states' projection starts from random weights
    net = Tagger(params, DETECTOR_DIR / params["weights"], lm_states=lm_states, context=context).net
    if lm_states is not None and train.states is not None:
        rows = np.concatenate(train.states).astype(np.float32)
        net.lm_mean.copy_(torch.from_numpy(rows.mean(0)))
        net.lm_std.copy_(torch.from_numpy(rows.std(0) + 1e-3))
        del rows
    torch.manual_seed(seed)
    rng = random.Random(seed)
    encoder = [p for p in net.encoder.parameters() if p.requires_grad]
    heads = list(net.word_head.parameters()) + list(net.sentence_head.parameters())
    if lm_states is not None:
        heads += list(net.lm_proj.parameters())
    if context:
        heads += list(net.word_context.parameters())
    groups = [{"params": encoder, "lr": lr}, {"params": heads, "lr": lr * 10}]
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    steps = epochs * len(train.batches(32, None))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s, n=steps: max(0.0, 1.0 - s / n))
    for _epoch in range(epochs):
        net.train()
        for idx in train.batches(32, rng):
            loss, _word_loss = batch_loss(net, train, idx, pad_id)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return net


if __name__ == "__main__":
    main()
