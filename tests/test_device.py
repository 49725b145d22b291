"""On a GPU where one is present (skipped otherwise): the seeds checked with `--device cuda` find the same garbles,
and the report names the device."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.model
@pytest.mark.skipif(not _cuda(), reason="no CUDA device on this machine")
def test_the_seeds_on_a_gpu(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "mtcheck", "check", str(ROOT / "seeds"), "--out", str(out), "--device", "cuda"]
    run = subprocess.run([*cmd, "--quiet"], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    report = json.loads(next(out.glob("000_*.json")).read_text(encoding="utf-8"))
    assert report["model"]["device"].startswith("cuda")
    flagged = " ".join(f["text"] for f in report["flags"] if f["severity"] != "minor")
    assert "NATO He will" in flagged
    assert any(f["suggestions"] for f in report["flags"])
