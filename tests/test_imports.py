"""The import graph: one top-level name, layers that point down, and no circle between modules.

Layers, lowest first: ``winback.common`` (errors, time, output, HTML, figures); beside it on the
next floor ``winback.features`` and ``winback.synthetic`` (neither imports the other); then
``winback.training``, ``winback.serving`` and the ``winback`` shell on top.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Each package and the winback packages it may import (besides itself).
MAY_IMPORT: dict[str, set[str]] = {
    "winback.common": set(),
    "winback.synthetic": {"winback.common"},
    "winback.features": {"winback.common"},
    "winback.training": {"winback.common", "winback.features"},
    "winback.serving": {"winback.common", "winback.features", "winback.training"},
    "winback": {
        "winback.common",
        "winback.synthetic",
        "winback.features",
        "winback.training",
        "winback.serving",
    },
}
#: The folders beside pyproject.toml; importing them by their bare names would break a wheel.
BARE = {"common", "synthetic", "features", "training", "serving"}


def _folders() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config["tool"]["setuptools"]["package-dir"]
    return {"winback": ROOT / "winback", **{name: ROOT / d for name, d in mapping.items()}}


def _modules() -> dict[str, Path]:
    """Every module of the distribution by its import name."""
    found = {}
    for package, folder in _folders().items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join(
                (package, *parts[:-1], *([] if parts[-1] == "__init__" else parts[-1:]))
            )
            found[name] = path
    return found


def _imports(path: Path, modules: Collection[str] = ()) -> Iterator[str]:
    """Every absolute module name ``path`` imports, at any depth (lazy imports count too).

    ``from package import module`` names the module, not the package, where ``module`` is one of
    ``modules``.
    """
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named = [f"{node.module}.{a.name}" for a in node.names]
            yield from (n for n in named if n in modules)
            if not all(n in modules for n in named):
                yield node.module


def _package_of(module: str) -> str:
    parts = module.split(".")
    return (
        ".".join(parts[:2]) if len(parts) > 1 and ".".join(parts[:2]) in MAY_IMPORT else "winback"
    )


def test_the_distribution_installs_one_top_level_name() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["setuptools"]["packages"]
    assert {p.split(".")[0] for p in packages} == {"winback"}
    assert set(_folders()) == set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    modules = _modules()
    offenders = {}
    for name, path in modules.items():
        if _package_of(name) != package:
            continue
        reached = {
            _package_of(m) for m in _imports(path) if m == "winback" or m.startswith("winback.")
        }
        bad = reached - MAY_IMPORT[package] - {package}
        bare = {m.split(".")[0] for m in _imports(path)} & BARE
        if bad or bare:
            offenders[name] = sorted(bad | bare)
    assert offenders == {}


def test_no_circle_between_modules() -> None:
    modules = _modules()
    graph = {
        name: {m for m in _imports(path, modules) if m in modules and m != name}
        for name, path in modules.items()
    }
    # A package's __init__ re-exports its modules; a module importing its own package's
    # __init__ would close a circle through it, and is caught like any other.
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == []


def test_the_checks_see_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from winback.cli import app\nimport serving\n")
    assert set(_imports(bad)) == {"winback.cli", "serving"}
    assert _package_of("winback.serving.api") == "winback.serving"
    assert _package_of("winback.cli") == "winback"
