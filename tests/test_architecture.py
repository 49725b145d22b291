"""The shape of the house (docs/architecture.md): data flows one way through the stages, and the product never
imports the training code. Read from the source with `ast`, so an import hidden inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mtcheck"
# Each stage may import only the stages before it (and itself). `training` may import anything; nothing imports it.
LAYERS = [
    "mtcheck.core",
    "mtcheck.models",
    "mtcheck.reading",
    "mtcheck.lm",
    "mtcheck.signals",
    "mtcheck.detect",
    "mtcheck.correct",
    "mtcheck.report",
    "mtcheck.pipeline",
    "mtcheck.evaluate",
    "mtcheck.review",
    "mtcheck.gate",
    "mtcheck.api",
    "mtcheck.serve",
    "mtcheck.cli",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every mtcheck module a file imports, at the top or inside a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mtcheck")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("mtcheck"):
                continue
            for alias in node.names:  # `from mtcheck.lm import store` imports a module
                sub = f"{base}.{alias.name}"
                found.add(sub if (ROOT / (sub.replace(".", "/") + ".py")).exists() else base)
    return {m for m in found if m != name}


def graph() -> dict[str, set[str]]:
    files = list(PACKAGE.rglob("*.py")) + list((ROOT / "models").glob("*.py"))
    out = {}
    for path in files:
        name = "mtcheck.models" if path.parent.name == "models" else module_name(path)
        out[name] = imports_of(path) - {name}
    # The package root holds the version (imported by the stages) and re-exports the API lazily (`mtcheck.Checker`):
    # a facade over the stages, not a stage, so its re-exports are no edge back into them.
    out["mtcheck"] = set()
    return out


def layer_of(module: str) -> int | None:
    for i, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return i
    return None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_is_read_from_the_source():
    edges = graph()
    assert "mtcheck.detect.detector" in edges
    assert "mtcheck.signals.rules" in edges["mtcheck.detect.detector"]
    assert "mtcheck.core.article" in edges["mtcheck.reading.formats"]


def test_there_is_no_import_cycle_inside_mtcheck():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_run_time_module_imports_the_training_code():
    offenders = {
        module: sorted(m for m in imported if m.startswith("mtcheck.training"))
        for module, imported in graph().items()
        if not module.startswith("mtcheck.training")
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_data_flows_one_way_through_the_stages():
    """A stage imports only the stages before it; `mtcheck` itself (the version) and `training` stand apart."""
    backwards = []
    for module, imported in graph().items():
        mine = layer_of(module)
        if mine is None:
            continue
        for target in imported:
            theirs = layer_of(target)
            if theirs is not None and theirs > mine:
                backwards.append(f"{module} -> {target}")
    assert backwards == []


def test_the_core_needs_no_torch_and_no_model():
    for path in (PACKAGE / "core").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {n for n in names if n.split(".")[0] in ("torch", "transformers", "onnxruntime")}, path
