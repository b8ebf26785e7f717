"""The errors winback raises for things a user can fix.

Every error a user can act on derives from :class:`WinbackError`; each subclass also derives from
the built-in exception callers already catch. The CLI prints a ``WinbackError`` as one line and
exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class WinbackError(Exception):
    """Root of every error winback raises on purpose."""


class SettingsError(WinbackError, ValueError):
    """A setting is missing, unknown or out of range (names the key and the value)."""


class DataSourceError(WinbackError, OSError):
    """A data source cannot be opened or read: missing file, bad URL, failing query."""


class DataContractError(WinbackError, ValueError):
    """Input rows break the data contract (names file, row, column and problem)."""


__all__ = ["DataContractError", "DataSourceError", "SettingsError", "WinbackError"]
