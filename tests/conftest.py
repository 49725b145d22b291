"""Shared fixtures. The real default model is used (installed into the store on first use)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_NEWS = SEEDS / "000_00e2884444c43ef8.txt"
SEED_KOREAN = SEEDS / "001_0a083b07f5e0d51c.txt"

# Debian's Chromium, driven by Playwright; never a downloaded browser.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def lm():
    """fp32: the tests compare batched, cached and windowed scores with fresh ones to 1e-3 nats, which bf16's
    rounding would not meet (the checker's own default precision is tested in test_units.py)."""
    from mtcheck.lm.model import LanguageModel

    return LanguageModel(precision="fp32")


@pytest.fixture(scope="session")
def checker():
    from mtcheck.pipeline import Checker

    return Checker()


@pytest.fixture(scope="session")
def seed_reports(checker):
    """Both seeds checked once with the real model: {file name: the report's JSON, as `check` writes it}."""
    from mtcheck.reading import read_file

    return {path.name: checker.check(read_file(path)[0]).to_json() for path in (SEED_NEWS, SEED_KOREAN)}


# --- the review server over a tmp reports folder (test_review.py, test_review_browser.py) ------------


@pytest.fixture
def setup(tmp_path: Path):
    from test_review import write_setup

    return write_setup(tmp_path)


@pytest.fixture
def server(setup):
    from test_review import running

    with running(setup.reports) as srv:
        yield srv


# --- browser ----------------------------------------------------------------------------------


def _wait_for_chromium(timeout: float = 300.0) -> bool:
    """apt-get may still be installing Chromium when the tests start: poll for it for up to 5 min."""
    deadline = time.monotonic() + timeout
    while True:
        if os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(5)


@pytest.fixture(scope="session")
def chromium():
    if not _wait_for_chromium():
        pytest.skip(f"{CHROMIUM} does not exist (Debian's chromium package is not installed)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    def __init__(self, page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))

        def on_dialog(dialog) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)


@pytest.fixture
def watched(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        yield Watched(page)
    finally:
        context.close()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide Llama with random (seeded) weights and SmolLM2's tokenizer, saved as a local model
    folder: for tests of the machinery around the model (streaming, state), where the model's judgement does
    not matter and the real one would make 10,000 items take hours."""
    import shutil

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from mtcheck.lm.store import resolve

    real = Path(resolve("smollm2-135m").path)
    out = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(real / name, out / name)
    return out


def start_gate_and_wait(cmd: list[str], state: Path, decided: int, timeout: float = 900):
    """The gate started as `cmd` (in the project root), once `decided` items are in its state file: the process,
    still running (for a kill -9 in the middle of a run)."""
    import subprocess

    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and state.read_bytes().count(b"\n") >= decided:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the gate finished before it could be killed"
    return proc
