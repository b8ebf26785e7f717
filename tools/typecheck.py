"""Run mypy on winback's packages under the names they import as (``winback.features``, …).

The stage folders sit beside ``pyproject.toml`` and install through a package-dir mapping, which
mypy cannot see through an editable install; so this script hands mypy each file with its module
name. Settings come from ``[tool.mypy]`` in ``pyproject.toml``.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from mypy import build
from mypy.main import process_options
from mypy.modulefinder import BuildSource

ROOT = Path(__file__).resolve().parents[1]


def _package_dirs() -> dict[str, Path]:
    """Import name → folder, from ``[tool.setuptools]`` (``winback`` itself maps to its folder)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config["tool"]["setuptools"]["package-dir"]
    return {"winback": ROOT / "winback", **{name: ROOT / d for name, d in mapping.items()}}


def _sources() -> list[BuildSource]:
    sources = []
    for package, folder in _package_dirs().items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            sources.append(BuildSource(str(path), ".".join((package, *parts))))
    # Benchmarks are scripts: each is its own top-level module.
    sources += [BuildSource(str(p), p.stem) for p in sorted((ROOT / "bench").rglob("*.py"))]
    return sources


def main() -> int:
    """Type-check every package and benchmark; print mypy's messages; exit 1 on any error."""
    _, options = process_options(["--config-file", str(ROOT / "pyproject.toml"), "-c", "pass"])
    messages: list[str] = []
    result = build.build(_sources(), options, flush_errors=lambda _f, new, _s: messages.extend(new))
    for line in messages or result.errors:
        print(line)
    errors = [m for m in messages or result.errors if ": error:" in m]
    n_files = len(result.files)
    print(
        f"{'Found' if errors else 'Success:'} {len(errors) or 'no'} error(s) in {n_files} modules"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
