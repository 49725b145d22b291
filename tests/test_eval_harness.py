"""The evaluation harness on a tiny hand-made file with known answers."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from mtcheck.core.metrics import calibration_error, f1, mcc, pearson, spearman
from mtcheck.core.types import Flag
from mtcheck.evaluate.data import load
from mtcheck.evaluate.harness import token_values

LINES = [
    # MQM style: Moses escapes and a final <EOS> whose tag marks an omission
    {
        "mt_tok": "He said : &quot; It &apos;s over . &quot; <EOS>",
        "mt_word_tags": ["OK", "OK", "OK", "OK", "OK", "BAD", "OK", "OK", "OK", "BAD"],
    },
    {
        "mt_tok": "Talks ended on Wednesday . between Russia and NATO .",
        "mt_word_tags": ["OK", "OK", "OK", "BAD", "BAD", "BAD", "OK", "OK", "OK", "OK"],
        "pe_tok": "Talks ended on Wednesday between Russia and NATO .",
        "hter": 0.1,
    },
]


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES), encoding="utf-8")
    return path


def test_loading_unescapes_and_strips_eos(tiny):
    first, second = load(tiny)
    assert first.text == 'He said: "It\'s over."'
    assert [first.text[a:b] for a, b in first.spans] == ["He", "said", ":", '"', "It", "'s", "over", ".", '"']
    assert first.tags == [False] * 5 + [True] + [False] * 3 and first.eos_bad is True
    assert second.post_edit == "Talks ended on Wednesday between Russia and NATO." and second.hter == 0.1


def test_flags_map_onto_tokens(tiny):
    item = load(tiny)[1]
    start = item.text.index("Wednesday")
    flags = [Flag.from_json({"start": start, "end": start + len("Wednesday. between"), "confidence": 0.8})]
    assert token_values(item.spans, flags) == [0, 0, 0, 0.8, 0.8, 0.8, 0, 0, 0, 0]


def test_metrics_known_values():
    gold = [True, True, False, False, False, False]
    assert mcc(gold, gold) == pytest.approx(1.0)
    assert mcc([not g for g in gold], gold) == pytest.approx(-1.0)
    pred = [True, False, True, False, False, False]  # tp 1, fn 1, fp 1, tn 3
    assert mcc(pred, gold) == pytest.approx((1 * 3 - 1 * 1) / math.sqrt(2 * 2 * 4 * 4))
    assert f1(pred, gold, True) == pytest.approx(0.5)
    assert f1(pred, gold, False) == pytest.approx(0.75)
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)
    assert spearman([1, 1, 2], [3, 3, 1]) == pytest.approx(-1.0)
    # flags at confidence 0.75 on tokens that are BAD half the time: ECE 0.25
    assert calibration_error([0.75, 0.75, 0, 0], [True, False, False, True]) == pytest.approx(0.25)


@pytest.mark.model
def test_eval_command_prints_the_table(tiny):
    result = subprocess.run(
        [sys.executable, "-m", "mtcheck", "eval", str(tiny), "--quiet"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "sha256" in out and "settings mtcheck:" in out
    assert "2 / 19 (BAD 21.1%)" in out  # 2 sentences, 19 MT tokens without <EOS>, 4 BAD
    for row in (
        "word MCC",
        "F1-BAD / F1-OK",
        "HTER Pearson",
        "chrF / TER",
        "sentences flagged",
        "seconds per 1,000 tokens",
    ):
        assert row in out
    # the broken boundary in line 2 is found: some BAD token is predicted
    assert "word MCC" in out and "F1-BAD / F1-OK       0.000" not in out


def test_skip_trained_measures_only_train_lines_no_tagger_saw(tmp_path):
    """`--skip-trained` on a train split leaves out the seeded sample the shipped taggers trained on (2,500 lines of
    zh news MQM train): of 2,503 lines, exactly the 3 outside that sample are measured and recorded."""
    from mtcheck.training.train import sample_items

    path = tmp_path / "wmt22qe.zh-en.train2021news.jsonl"
    lines = [{"mt_tok": f"Line number {n} is plain .", "mt_word_tags": ["OK"] * 6} for n in range(2503)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    records = tmp_path / "records"
    result = subprocess.run(
        [sys.executable, "-m", "mtcheck", "eval", str(path), "--skip-trained", "--records", str(records), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "2500 lines the taggers were trained on left out, 3 measured" in result.stdout
    measured = [json.loads(line)["index"] for line in (records / f"{path.stem}.records.jsonl").open()]
    trained = {it.index for it in sample_items(path, 2500, 13)}
    assert len(measured) == 3 and set(measured) == set(range(2503)) - trained
