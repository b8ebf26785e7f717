"""Writing outputs atomically: to a temporary name beside the target, then renamed.

One file (:func:`atomic_path`) or a set of files that belong together (:func:`publish_together`:
a list and the summary page that describes it). A reader sees the old file or the new one, never
a partial one, and a failure before the renames leaves every old file and no temporary one.

A set is published in three steps. Every file is written to ``.<name>.tmp-<pid>`` beside its
target and flushed to disk. A journal, ``.<first name>.publish-<pid>`` beside the first target,
records the renames: writing it is the commit point. Then the files are renamed and the journal
removed. A run killed between two renames leaves its journal, and the next publication of the
same set (or :func:`recover`) finishes the renames, so the set reads as the new one; killed
before the journal, the old files stand and the next run removes the temporary ones. A leftover
is only ever touched once its process is gone and it predates the running one.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from winback.common.errors import DataSourceError, SettingsError

FORMATS = {".parquet": "parquet", ".csv": "csv"}
#: When this process began writing, as far as leftovers are concerned: a temporary file or
#: journal older than this, whose process is gone, was left by a run that died.
_STARTED = time.time()


def output_format(path: Path) -> str:
    """``parquet`` or ``csv`` from the file's extension; anything else is refused."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SettingsError(f"{path}: output must end in .parquet or .csv, got {path.suffix!r}")
    return fmt


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    with publish_together([path]) as (tmp,):
        yield tmp


@contextmanager
def publish_together(
    targets: Sequence[Path], *, on_step: Callable[[str], object] | None = None
) -> Iterator[list[Path]]:
    """Yield a temporary path beside each target; publish them all at once on success.

    Write each file to its temporary path inside the ``with`` block. On success every file is
    flushed, the renames are journaled (with more than one target), and each is renamed onto its
    target; on an exception nothing is renamed and the temporary files are removed. Leftovers of
    a killed publication of these targets are dealt with first (:func:`recover`). A target whose
    folder cannot be written fails at once, before any work, with a :class:`DataSourceError`.

    ``on_step`` is called with ``"written"``, ``"committed"`` (journal written, if any),
    ``"renamed <name>"`` after each rename and ``"published"``: a hook for fault tests.
    """
    paths = [Path(t) for t in targets]
    if len({p.resolve() for p in paths}) != len(paths):
        raise ValueError(f"publish_together needs distinct targets, got {[str(p) for p in paths]}")
    step = on_step or (lambda _: None)
    recover(paths)
    tmps = [_tmp(p, os.getpid()) for p in paths]
    committed = False
    try:
        for path, tmp in zip(paths, tmps, strict=True):
            if path.is_dir():  # the final rename would fail, after all the work
                raise DataSourceError(
                    f"cannot write {path}: it is a directory; name a file, e.g. "
                    f"{path / ('output' + path.suffix)}"
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                # Can the folder be written? Then remove the probe: a writer that finds a file
                # there may detour through a temporary file of its own (DuckDB's tmp_<name>).
                tmp.touch()
                tmp.unlink()
            except OSError as exc:
                raise DataSourceError(
                    f"cannot write {path}: {exc.strerror or exc}; choose a folder you can write to"
                ) from exc
        yield tmps
        for tmp in tmps:
            _flush(tmp)
        step("written")
        journal = _write_journal(paths, tmps) if len(paths) > 1 else None
        committed = journal is not None  # one rename needs no journal: it is atomic itself
        step("committed")
        for path, tmp in zip(paths, tmps, strict=True):
            tmp.replace(path)
            step(f"renamed {path.name}")
        for folder in {p.parent for p in paths}:
            _flush_folder(folder)
        if journal is not None:
            journal.unlink()
        step("published")
    finally:
        if not committed:  # once committed, what is left is for recover() to finish
            for tmp in tmps:
                # One that cannot be removed (or was never made) is left for the next run.
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)


def recover(targets: Sequence[Path]) -> None:
    """Finish or undo what a killed publication of ``targets`` left behind.

    A journal left by a process that is gone is rolled forward (its remaining renames are done,
    the set is the new one); then the temporary files of the targets' pattern
    (``.<name>.tmp-<pid>``) whose process is gone and that predate this one are removed.
    """
    paths = [Path(t) for t in targets]
    if not paths:
        return
    first = paths[0]
    for journal in first.parent.glob(f".{glob.escape(first.name)}.publish-*"):
        if not _stale(journal):
            continue
        if journal.suffix != ".part":  # a journal never finished was never committed
            try:
                renames = json.loads(journal.read_text(encoding="utf-8"))["renames"]
            except (ValueError, KeyError, TypeError):
                continue  # not a journal of ours, whatever its name: leave it alone
            for tmp, target in renames:
                if Path(tmp).exists():
                    Path(tmp).replace(target)
        journal.unlink(missing_ok=True)
    for path in paths:
        for tmp in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
            if _stale(tmp):
                tmp.unlink(missing_ok=True)


def _tmp(path: Path, pid: int) -> Path:
    return path.with_name(f".{path.name}.tmp-{pid}")


def _write_journal(paths: Sequence[Path], tmps: Sequence[Path]) -> Path:
    """The commit point: the renames to do, written atomically beside the first target."""
    journal = paths[0].with_name(f".{paths[0].name}.publish-{os.getpid()}")
    part = journal.with_name(journal.name + ".part")
    renames = [[str(t.absolute()), str(p.absolute())] for t, p in zip(tmps, paths, strict=True)]
    part.write_text(json.dumps({"renames": renames}), encoding="utf-8")
    _flush(part)
    part.replace(journal)
    _flush_folder(journal.parent)
    return journal


def _stale(path: Path) -> bool:
    """Left by a run that died: its process is gone and it is older than this one."""
    digits = path.name.rsplit("-", 1)[-1].removesuffix(".part")
    if not digits.isdigit() or int(digits) == os.getpid() or _alive(int(digits)):
        return False
    try:
        return path.stat().st_mtime < _STARTED
    except FileNotFoundError:  # removed meanwhile by another run
        return False


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return False  # no safe probe (os.kill would end it); the age check alone decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _flush(path: Path) -> None:
    """Force a written file to disk, so a journal never points at data still in memory."""
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _flush_folder(folder: Path) -> None:
    """Force a folder's renames to disk where the platform can (POSIX)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_query(con: duckdb.DuckDBPyConnection, sql: str, out: Path) -> int:
    """Run ``sql`` and write its rows to ``out`` (.parquet or .csv) atomically; return the count."""
    fmt = output_format(out)
    with atomic_path(out) as tmp:
        _copy(con, sql, tmp, fmt, out)
    (rows,) = con.execute(f"SELECT count(*) FROM read_{fmt}('{_quote(out)}')").fetchall()[0]
    return int(rows)


def _copy(con: duckdb.DuckDBPyConnection, sql: str, path: Path, fmt: str, shown: Path) -> None:
    options = (
        "FORMAT parquet, COMPRESSION zstd"
        if fmt == "parquet"
        else "FORMAT csv, HEADER true, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ'"
    )
    try:
        con.execute(f"COPY ({sql}) TO '{_quote(path)}' ({options})")
    except duckdb.IOException as exc:
        raise DataSourceError(f"cannot write {shown}: {exc}") from exc


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def write_frame(frame: pd.DataFrame, out: Path) -> int:
    """Write a pandas frame to ``out`` (.parquet or .csv) atomically; return the row count."""
    con = duckdb.connect()
    try:
        con.register("_winback_frame", frame)
        return write_query(con, "SELECT * FROM _winback_frame", out)
    finally:
        con.close()


def write_frame_as(frame: pd.DataFrame, path: Path, fmt: str, *, shown: Path | None = None) -> None:
    """Write a frame to exactly ``path`` in ``fmt`` (``parquet`` or ``csv``), not atomically.

    For a temporary path of :func:`publish_together`, whose name says nothing of the format.
    ``shown`` is the path an error message names (the target).
    """
    if fmt not in FORMATS.values():
        raise SettingsError(f"output format must be one of {sorted(FORMATS.values())}, got {fmt!r}")
    con = duckdb.connect()
    try:
        con.register("_winback_frame", frame)
        _copy(con, "SELECT * FROM _winback_frame", path, fmt, shown or path)
    finally:
        con.close()


__all__ = [
    "atomic_path",
    "output_format",
    "publish_together",
    "recover",
    "write_frame",
    "write_frame_as",
    "write_query",
]
