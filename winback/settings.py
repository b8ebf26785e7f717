"""One TOML file (``winback.toml``) composed into the settings each stage owns.

Relative paths in the file are relative to the file itself, so a command works from any working
directory; so are the files of ``duckdb:///`` and ``sqlite:///`` URLs. Command-line
paths (``--transactions PATH`` …) override the file, or stand in for it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from winback.common.errors import SettingsError
from winback.features.settings import (
    CONTRACT_COLUMNS,
    TABLES,
    DataSettings,
    EngineSettings,
    FeatureSettings,
    LabelSettings,
    SegmentSettings,
    SnapshotSettings,
    SourceSettings,
)
from winback.serving.settings import ApiSettings, DriftSettings, PolicySettings, ScoringSettings
from winback.training.settings import TrackingSettings, TrainingSettings

_SOURCE_OPTIONS = set(SourceSettings.model_fields) - {"columns"}
_SECTIONS: dict[str, type[BaseModel]] = {
    "engine": EngineSettings,
    "features": FeatureSettings,
    "labels": LabelSettings,
    "segments": SegmentSettings,
    "snapshots": SnapshotSettings,
    "training": TrainingSettings,
    "tracking": TrackingSettings,
    "scoring": ScoringSettings,
    "policy": PolicySettings,
    "drift": DriftSettings,
    "api": ApiSettings,
}


@dataclass(frozen=True)
class Settings:
    """Everything one command needs, one frozen object per stage."""

    data: DataSettings = field(default_factory=DataSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    labels: LabelSettings = field(default_factory=LabelSettings)
    segments: SegmentSettings = field(default_factory=SegmentSettings)
    snapshots: SnapshotSettings = field(default_factory=SnapshotSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    scoring: ScoringSettings = field(default_factory=ScoringSettings)
    policy: PolicySettings = field(default_factory=PolicySettings)
    drift: DriftSettings = field(default_factory=DriftSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    #: The file these settings came from, if any.
    source: Path | None = None


def load_settings(path: Path | None = None, overrides: dict[str, Path] | None = None) -> Settings:
    """Read ``path`` (if given), apply path overrides per table, and validate everything."""
    raw: dict[str, Any] = {}
    base = Path.cwd()
    name = "settings"
    if path is not None:
        name = path.name
        try:
            raw = tomllib.loads(_read_text(path))
        except FileNotFoundError as exc:
            raise SettingsError(f"config file not found: {path}") from exc
        except OSError as exc:
            raise SettingsError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
        base = path.resolve().parent
    unknown = set(raw) - {"data", *_SECTIONS}
    if unknown:
        raise SettingsError(
            f"{name}: unknown section [{sorted(unknown)[0]}]; "
            f"expected [data.<table>], {', '.join(f'[{s}]' for s in _SECTIONS)}"
        )
    sections = {
        key: _build(model, raw.get(key, {}), f"{name}: [{key}]") for key, model in _SECTIONS.items()
    }
    data = _data_settings(raw.get("data", {}), base, name, overrides or {})
    return Settings(data=data, source=path, **sections)  # type: ignore[arg-type]


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; a byte that is not UTF-8 is named with its line and column."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # -sig: Notepad's byte-order mark is harmless
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SettingsError(
            f"{path} line {line}, column {column}: byte 0x{data[exc.start]:02x} is not UTF-8; "
            "save the file as UTF-8 (TOML files are UTF-8)"
        ) from exc


def project_root(settings: Settings) -> Path:
    """Where the local MLflow store (``mlruns/``) lives.

    Beside the config file when there is one, else in the winback checkout, else in the working
    directory.
    """
    if settings.source is not None:
        return settings.source.resolve().parent
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").exists():
        return checkout
    return Path.cwd()


def _data_settings(
    raw: dict[str, Any], base: Path, name: str, overrides: dict[str, Path]
) -> DataSettings:
    options = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    unknown = set(raw) - set(TABLES) - set(options)
    if unknown:
        raise SettingsError(
            f"{name}: unknown table [data.{sorted(unknown)[0]}]; tables are {', '.join(TABLES)}"
        )
    allowed = set(DataSettings.model_fields) - set(TABLES)
    if set(options) - allowed:
        raise SettingsError(
            f"{name}: [data] unknown key {sorted(set(options) - allowed)[0]!r}; keys are "
            f"{', '.join(sorted(allowed))}, and the tables [data.<table>]"
        )
    if isinstance(options.get("complete_until"), date):
        options["complete_until"] = options["complete_until"].isoformat()
    sources: dict[str, SourceSettings] = {}
    for table in TABLES:
        section = dict(raw.get(table, {}))
        where = f"{name}: [data.{table}]"
        if table in overrides:
            section.pop("url", None)
            section.pop("table", None)
            section.pop("query", None)
            section["path"] = str(overrides[table])
        elif not section:
            continue
        elif "path" in section and not Path(section["path"]).is_absolute():
            section["path"] = str(base / section["path"])
        elif isinstance(section.get("url"), str):
            section["url"] = _file_url(section["url"], base)
        required, optional = CONTRACT_COLUMNS[table]
        columns = {k: section.pop(k) for k in list(section) if k in (*required, *optional)}
        for key in section:
            if key not in _SOURCE_OPTIONS:
                raise SettingsError(
                    f"{where} unknown key {key!r}. Column mappings are "
                    f"{', '.join((*required, *optional))}; options are "
                    f"{', '.join(sorted(_SOURCE_OPTIONS))}"
                )
        bad = {k: v for k, v in columns.items() if not isinstance(v, str)}
        if bad:
            key, value = next(iter(bad.items()))
            raise SettingsError(f"{where} {key} = {value!r}: a column name must be a string")
        sources[table] = _build(SourceSettings, {**section, "columns": columns}, where)  # type: ignore[assignment]
    return _build(DataSettings, {**sources, **options}, f"{name}: [data]")  # type: ignore[return-value]


#: URL prefixes whose rest is a file path (three slashes: relative; four: absolute).
_FILE_URLS = ("duckdb:///", "sqlite:///")


def _file_url(url: str, base: Path) -> str:
    """A DuckDB or SQLite URL with a relative file resolved from ``base``, as ``path`` is."""
    for prefix in _FILE_URLS:
        if url.startswith(prefix):
            file, sep, query = url[len(prefix) :].partition("?")
            if file and file != ":memory:" and not Path(file).is_absolute():
                return f"{prefix}{(base / file).as_posix()}{sep}{query}"
    return url


def _build(model: type[BaseModel], values: dict[str, Any], where: str) -> BaseModel:
    try:
        return model(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(section)"
            shown = f" = {err['input']!r}" if err["type"] != "missing" and err["loc"] else ""
            problems.append(f"{key}{shown}: {err['msg']}")
        raise SettingsError(f"{where} {'; '.join(problems)}") from exc


def with_data(settings: Settings, data: DataSettings) -> Settings:
    """A copy of ``settings`` reading from other sources."""
    return replace(settings, data=data)


__all__ = ["Settings", "load_settings", "project_root", "with_data"]
