"""A plain (not editable) install carries everything mtcheck needs beside the model store: the package, the
shipped tables and detector under `mtcheck.models`, and the report's CSS and JS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_of_code_is_a_package_that_pyproject_ships():
    """pyproject.toml lists the packages by name (models/ is mapped into the package): a new stage must be added."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {p.parent for p in (ROOT / "mtcheck").rglob("*.py") if "__pycache__" not in p.parts}
    for folder in folders:
        assert (folder / "__init__.py").exists(), f"{folder} has no __init__.py"
    names = {".".join(f.relative_to(ROOT).parts) for f in folders} | {"mtcheck.models"}
    assert names == listed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)]
    subprocess.run(cmd, check=True, capture_output=True, cwd=out)
    (path,) = out.glob("mtcheck-*.whl")
    return path


def test_the_wheel_holds_every_package_and_the_shipped_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "mtcheck").rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    shipped = [p.relative_to(ROOT / "models") for p in (ROOT / "models").rglob("*") if p.is_file()]
    shipped = [p for p in shipped if p.suffix in (".toml", ".json", ".npy", ".safetensors", ".py")]
    assert shipped
    for rel in shipped:
        assert f"mtcheck/models/{rel.as_posix()}" in names, rel
    assets = [p.name for p in (ROOT / "mtcheck" / "report" / "assets").glob("*")]
    for name in assets:
        assert f"mtcheck/report/assets/{name}" in names, name


@pytest.mark.model
def test_an_installed_mtcheck_checks_a_seed_away_from_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    seed = work / "article.txt"
    seed.write_bytes((ROOT / "seeds" / "001_0a083b07f5e0d51c.txt").read_bytes())
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import mtcheck.models as m, mtcheck.report as r; print(m.MODELS_DIR); print(r.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
    ).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in where), where
    run = subprocess.run(
        [sys.executable, "-m", "mtcheck", "check", "article.txt", "--out", "out", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads((work / "out" / "article.json").read_text(encoding="utf-8"))
    assert report["settings"]["fluency_calibrated"] is True  # the calibration table came with the package
    assert "tagger:none" not in report["settings"]["signature"]  # and so did the learned detector
    assert (work / "out" / "article.html").read_text(encoding="utf-8").count("<style") >= 1
