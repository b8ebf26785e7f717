"""A new local MLflow store starts as a copy of an empty one, made once per MLflow version.

MLflow builds an SQLite store's schema by running its Alembic migrations, 4 to 8 seconds on a
2-core machine, for every new store: each new project's first ``winback train``, and each store
the tests and notebooks make. The empty schema is the same for every store of one MLflow
version, so it is built once by MLflow itself into the user's cache folder and copied into place.
MLflow then finds its tables at the latest revision and goes on as with a store it made (it adds
its default experiment with this store's own artifact location). Anything that fails here leaves
the new store to MLflow, as before.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

_log = logging.getLogger(__name__)


def cache_folder() -> Path:
    """``$XDG_CACHE_HOME/winback``, else ``~/.cache/winback``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "winback"


def seed_new_store(database: Path) -> bool:
    """Copy the empty schema to ``database`` if it does not exist yet; True when copied.

    Call it holding the store's lock (:func:`training.store_lock.store_lock`).
    """
    if database.exists() and database.stat().st_size > 0:
        return False
    partial = database.with_name(f".{database.name}.seed-{os.getpid()}")
    try:
        partial.write_bytes(_empty_schema().read_bytes())
        partial.replace(database)
    except Exception as exc:  # any failure: MLflow builds the schema itself, as before
        _log.debug("MLflow store %s: not seeded from the cached schema (%s)", database, exc)
        partial.unlink(missing_ok=True)
        return False
    return True


def _empty_schema() -> Path:
    """The cached empty store of the installed MLflow, built by MLflow's own migrations."""
    import mlflow  # noqa: PLC0415 - the caller has loaded it already
    import sqlalchemy  # noqa: PLC0415
    from mlflow.store.db.utils import _initialize_tables  # noqa: PLC0415

    cached = cache_folder() / f"mlflow-{mlflow.__version__}-empty-store.db"
    if _has_schema(cached):
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    building = cached.with_name(f".{cached.name}.{os.getpid()}")
    building.unlink(missing_ok=True)
    engine = sqlalchemy.create_engine(f"sqlite:///{building.as_posix()}")
    try:
        _initialize_tables(engine)
    finally:
        engine.dispose()
    if not _has_schema(building):
        building.unlink(missing_ok=True)
        raise RuntimeError("MLflow's migrations left no schema revision")
    building.replace(cached)
    return cached


def _has_schema(path: Path) -> bool:
    """True when ``path`` is an SQLite file holding a migrated store's revision."""
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return False
    return len(rows) == 1


__all__ = ["cache_folder", "seed_new_store"]
