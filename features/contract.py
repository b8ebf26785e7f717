"""The data contract: each table's declared columns and the checks that make raw rows clean.

The schema (:data:`SCHEMA`) declares, per table, our column name, its kind and whether it is
required; ``SourceSettings.columns`` maps our names to the source's. :func:`plan_table` resolves
that mapping against the columns a source really has and reports every missing column at once.
:func:`features.checks.check_table` then checks every row in DuckDB SQL (per-column checks in
:mod:`features.column_checks`, checks across rows in :mod:`features.row_checks`) and writes the
clean typed table; each failure becomes one reject row naming the table, source, row, source
column, check, value and a message (:mod:`features.rejects`).

What the checks decide, and why:

- ids (customer_id, order_id) are text, trimmed; numeric ids from typed sources become integer
  text ("12", never "12.0"), so the same customer matches across sources.
- Timestamps are ISO 8601 text or typed values, stored as naive UTC. An offset in the data always
  wins (mixed offsets are normalised, not rejected); text without one, and typed naive values,
  are in the source's ``timezone``; a bare date is that zone's midnight. Dates that do not exist
  (2024-02-30) and years outside 1900–2200 are rejected.
- A negative amount is a refund or return. It is kept: it reduces net spend and margin in the
  window it is stamped in, and it is not counted as an order. Non-finite or unparseable amounts
  are rejected. The decimal mark is "." unless the source sets ``decimal = ","`` (then a "." is
  refused); no thousands separators are read.
- Money (transaction amount, cost and discount; campaign cost) is held to 4 decimal places
  (``MONEY_DECIMALS`` in ``features.definitions``): features, labels and segments read it as an
  exact decimal, rounded half away from zero, and add it up exactly, so the same data always
  gives the same sums. Every currency's minor unit fits. The clean tables keep the values as
  read (DOUBLE). A money value of ``MONEY_LIMIT`` (10^13) or more in magnitude is rejected
  ('money_range'): it is a unit or mapping error rather than a price, and it would not fit that
  decimal.
- Rows sharing an order_id are lines of one order, so they must share a customer; an order_id
  seen under a second customer is rejected from that row on. With an order_id, a row equal in
  every mapped column to an earlier one is a duplicate and rejected. Without order ids two equal
  rows may be two real purchases (at daily resolution they often are), so they are kept.
- Customers must be unique by customer_id; events and campaigns may name customers who have no
  transactions.
- CSV hygiene: blank rows, repeated header lines, records with too many fields and rows with
  bytes invalid in the declared encoding are rejected by name instead of breaking the parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from winback.common.errors import DataContractError, SettingsError
from winback.features.readers import RawTable
from winback.features.settings import CONTRACT_COLUMNS, SourceSettings, TableName

Kind = Literal["id", "timestamp", "number", "money", "text", "bool"]


@dataclass(frozen=True)
class ContractColumn:
    """One declared column: our name, what kind of value it holds, whether the table needs it."""

    name: str
    kind: Kind
    required: bool


_KINDS: dict[str, Kind] = {
    "customer_id": "id",
    "order_id": "id",
    "timestamp": "timestamp",
    "signup_date": "timestamp",
    "amount": "money",
    "cost": "money",
    "quantity": "number",
    "discount": "money",
    "value": "number",
    "channel": "text",
    "category": "text",
    "event_type": "text",
    "offer": "text",
    "treated": "bool",
}

#: The declared schema of every contract table, in contract order.
SCHEMA: dict[TableName, tuple[ContractColumn, ...]] = {
    table: tuple(ContractColumn(n, _KINDS[n], True) for n in required)
    + tuple(ContractColumn(n, _KINDS[n], False) for n in optional)
    for table, (required, optional) in CONTRACT_COLUMNS.items()
}

#: The clean SQL type of each kind (customer attributes are DOUBLE or VARCHAR by their data).
CLEAN_TYPES: dict[Kind, str] = {
    "id": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "number": "DOUBLE",
    "money": "DOUBLE",
    "text": "VARCHAR",
    "bool": "BOOLEAN",
}

#: Plausible years of a timestamp; others are rejected as "date_range".
MIN_YEAR, MAX_YEAR = 1900, 2200
#: Money values must be smaller than this in magnitude; others are rejected as "money_range".
#: Features hold money as ``MONEY_TYPE``, DECIMAL(18, 4), whose range is ±10^14, so an amount,
#: minus a cost of the same bound, still fits.
MONEY_LIMIT = 10**13
# Words that suggest which file column holds a missing contract column (for the hint only).
_HINTS = {
    "customer_id": ("customer", "client", "user", "member", "account", "cust"),
    "timestamp": ("date", "time", "created", "ts"),
    "amount": ("amount", "total", "revenue", "sales", "price", "spend", "value"),
    "event_type": ("event", "type", "action"),
    "offer": ("offer", "campaign", "promo", "treatment"),
}


@dataclass(frozen=True)
class TablePlan:
    """The contract resolved against one source: which source column feeds each of ours."""

    table: TableName
    #: our column -> source column, for the contract columns present, in contract order.
    mapping: dict[str, str]
    #: Customers only: source columns kept as attributes (same name in the clean table).
    attributes: tuple[str, ...] = ()


def plan_table(raw: RawTable, source: SourceSettings) -> TablePlan:
    """Resolve the column mapping; raise one DataContractError naming every missing column."""
    declared = {c.name: c for c in SCHEMA[raw.table]}
    unknown = sorted(set(source.columns) - set(declared))
    if unknown:
        raise SettingsError(
            f"[data.{raw.table}] maps unknown column(s) {', '.join(map(repr, unknown))}; "
            f"the {raw.table} columns are: {', '.join(declared)}."
        )
    mapping: dict[str, str] = {}
    missing: list[tuple[str, str]] = []  # (ours, source name looked for)
    for col in declared.values():
        wanted = source.source_column(col.name)
        found = _find_column(wanted, raw.columns)
        if found is not None:
            mapping[col.name] = found
        elif col.required or col.name in source.columns:
            missing.append((col.name, wanted))
    attributes: tuple[str, ...] = ()
    if raw.table == "customers":
        if source.attributes is not None:
            clash = sorted(set(source.attributes) & set(declared))
            if clash:
                raise SettingsError(
                    f"[data.customers] attributes may not include contract columns {clash}."
                )
            for name in source.attributes:
                found = _find_column(name, raw.columns)
                if found is None:
                    missing.append((f"attribute {name}", name))
                else:
                    attributes += (found,)
        else:
            used = set(mapping.values())
            attributes = tuple(c for c in raw.columns if c not in used and c not in declared)
    if missing:
        raise DataContractError(_missing_message(raw, source, mapping, missing))
    return TablePlan(raw.table, mapping, attributes)


#: Separators other than the configured one that a header split wrongly may hold.
_SEPARATORS = (";", "\t", "|", ",")


def _other_separator(
    raw: RawTable, source: SourceSettings, wanted: list[str]
) -> tuple[str, str] | None:
    """The separator, and the header column it splits into missing columns, if there is one.

    A file written with another separator than ``delimiter`` is read as one column whose name
    is the whole header line; naming that column in a hint would only mislead.
    """
    if not raw.text_file:
        return None
    for sep in _SEPARATORS:
        if sep == source.delimiter:
            continue
        for name in raw.columns:
            parts = [p.strip().strip('"').strip("'") for p in name.split(sep)]
            if len(parts) > 1 and any(_find_column(w, tuple(parts)) for w in wanted):
                return sep, name
    return None


def _find_column(wanted: str, columns: tuple[str, ...]) -> str | None:
    if wanted in columns:
        return wanted
    # Forgive case and stray spaces in headers ("Customer_ID ", "AMOUNT") when unambiguous.
    loose = [c for c in columns if c.strip().lower() == wanted.strip().lower()]
    return loose[0] if len(loose) == 1 else None


def _missing_message(
    raw: RawTable, source: SourceSettings, mapping: dict[str, str], missing: list[tuple[str, str]]
) -> str:
    split = _other_separator(raw, source, [wanted for _, wanted in missing])
    if split is not None:
        separator, column = split
        shown = "\\t" if separator == "\t" else separator  # as written in TOML
        return (
            f"{raw.label}: the file looks '{shown}'-separated: read with delimiter "
            f"{source.delimiter!r}, its header holds the column {column!r}. Set "
            f'delimiter = "{shown}" in [data.{raw.table}].'
        )
    lines = []
    for ours, wanted in missing:
        if ours in source.columns:
            lines.append(f"column {wanted!r} (configured for {ours}) is not in the file")
        elif ours.startswith("attribute "):
            lines.append(f"attribute column {wanted!r} (listed in attributes) is not in the file")
        else:
            lines.append(f"missing required column {ours!r}")
    has = ", ".join(raw.columns) or "(none)"
    ours, _ = missing[0]
    free = [c for c in raw.columns if c not in mapping.values()]
    guess = next(
        (c for c in free for word in _HINTS.get(ours, ()) if word in c.lower()),
        "<column name in the file>",
    )
    return (
        f"{raw.label}: {'; '.join(lines)}. The file has columns: {has}. "
        f"Map the column in winback.toml, e.g. [data.{raw.table}] {ours.split()[-1]} = "
        f'"{guess}".'
    )


__all__ = [
    "CLEAN_TYPES",
    "MAX_YEAR",
    "MIN_YEAR",
    "MONEY_LIMIT",
    "SCHEMA",
    "ContractColumn",
    "Kind",
    "TablePlan",
    "plan_table",
]
