"""Shared fixtures. The real default model is used (installed into the store on first use)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_NEWS = SEEDS / "000_00e2884444c43ef8.txt"
SEED_KOREAN = SEEDS / "001_0a083b07f5e0d51c.txt"


@pytest.fixture(scope="session")
def lm():
    from mtcheck.scoring import LanguageModel

    return LanguageModel()


@pytest.fixture(scope="session")
def checker():
    from mtcheck.pipeline import Checker

    return Checker()


@pytest.fixture(scope="session")
def seed_reports(checker):
    """Both seeds checked once with the real model: {file name: report dict}."""
    from mtcheck.reading import read_file

    return {path.name: checker.check(read_file(path)[0]) for path in (SEED_NEWS, SEED_KOREAN)}
