"""The local MLflow store's file: checked before MLflow touches it, and created by one process.

MLflow creates an SQLite store's schema with Alembic on first use. Two commands opening a fresh
store at once (two ``winback train`` runs) both run the migrations and one dies with a traceback
half-way; two creating the experiment race the same way. :func:`store_lock` holds an exclusive
``fcntl`` lock on a file beside the database while a store is opened, so the second waits for
the first and then finds the schema and experiment in place.

A store MLflow cannot write (its folder is a file, unwritable or read-only) would otherwise be
retried by MLflow for minutes before a traceback; the lock file is created first, so that
failure is one line naming the path, at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from winback.common.errors import DataSourceError

_SQLITE = "sqlite:///"


def sqlite_file(uri: str) -> Path | None:
    """The database file of an ``sqlite:///`` URI (absolute), None for other stores."""
    database = uri[len(_SQLITE) :].split("?", 1)[0] if uri.startswith(_SQLITE) else ""
    if not database or database == ":memory:":
        return None
    return Path(database).resolve()


def check_store_file(uri: str) -> None:
    """Refuse an SQLite store whose database path exists but is not a writable file."""
    database = sqlite_file(uri)
    if database is None or not database.exists():
        return
    if not database.is_file():
        raise _unwritable(database, "it is a directory, not a database file")
    if not os.access(database, os.R_OK | os.W_OK):
        raise _unwritable(database, "the file is not readable and writable by this user")


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold the store's lock (no-op for stores that are not SQLite files) for the block."""
    database = sqlite_file(uri)
    if database is None:
        yield
        return
    check_store_file(uri)
    lock = database.with_name(f"{database.name}.lock")
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(database.parent, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied")
        handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except (FileExistsError, NotADirectoryError) as exc:
        raise _unwritable(database.parent, "a file stands where its folder should be") from exc
    except OSError as exc:
        raise _unwritable(database.parent, exc.strerror or str(exc)) from exc
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle is closed
        yield
    finally:
        os.close(handle)


def _unwritable(path: Path, reason: str) -> DataSourceError:
    return DataSourceError(
        f"MLflow store {path} is not writable: {reason}. Make it a writable folder, put the "
        "config file where its mlruns/ can be written, or set MLFLOW_TRACKING_URI (or "
        "[tracking] uri) to another store"
    )


__all__ = ["check_store_file", "sqlite_file", "store_lock"]
