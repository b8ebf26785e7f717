"""Settings owned by the features stage: data sources, feature windows, labels, segments, snapshots.

Each class is frozen and carries its defaults in code; ``winback.settings`` builds them from one
TOML file. Library functions receive these objects and never read files or the environment.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from winback.common.timestamps import check_zone, to_utc_naive

TableName = Literal["transactions", "events", "customers", "campaigns"]
TABLES: tuple[TableName, ...] = ("transactions", "events", "customers", "campaigns")

#: Columns of each table of the data contract: (required, optional). Our names.
CONTRACT_COLUMNS: dict[TableName, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "transactions": (
        ("customer_id", "timestamp", "amount"),
        ("order_id", "cost", "quantity", "channel", "category", "discount"),
    ),
    "events": (("customer_id", "timestamp", "event_type"), ("value",)),
    "customers": (("customer_id",), ("signup_date",)),
    "campaigns": (("customer_id", "timestamp", "offer"), ("treated", "cost")),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceSettings(_Frozen):
    """Where one table comes from and how its columns are named.

    Exactly one of ``path`` (CSV or Parquet) or ``url`` (``duckdb:///file.db`` or any SQLAlchemy
    URL, with ``table`` or ``query``) is given. ``columns`` maps our column name to the source's.
    """

    path: Path | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    #: Zone for timestamps written without an offset (offsets in the data always win); None
    #: means the business's zone, ``[data] timezone``.
    timezone: str | None = None
    #: A strptime format such as ``%d/%m/%Y %H:%M``; None means ISO 8601.
    timestamp_format: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    #: The decimal mark of numbers written as text (CSV): "." or "," (``50,0``). With ",", a
    #: number holding a "." is refused, so a thousands separator is never read as a decimal.
    decimal: Literal[".", ","] = "."
    #: Customers only: attribute columns to use; None means every column not in the contract.
    attributes: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _one_location(self) -> SourceSettings:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' or 'url'")
        if self.url is not None and (self.table is None) == (self.query is None):
            raise ValueError("a 'url' source needs exactly one of 'table' or 'query'")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

    def source_column(self, ours: str) -> str:
        """The source's name for our column ``ours`` (the same name unless mapped)."""
        return self.columns.get(ours, ours)

    @property
    def label(self) -> str:
        """A short name for messages: the file name, or the table or query."""
        if self.path is not None:
            return self.path.name
        return self.table or "query"


class DataSettings(_Frozen):
    """The four tables of the data contract (only transactions are required), and business time.

    Cutoffs are midnights in the business's time zone, and ``--as-of 2024-10-01`` means the
    midnight that starts that day there. Without ``timezone`` the zone of the transactions
    source is the business's, else UTC.
    """

    transactions: SourceSettings | None = None
    events: SourceSettings | None = None
    customers: SourceSettings | None = None
    campaigns: SourceSettings | None = None
    #: The business's time zone (an IANA name); sources without their own zone use it too.
    timezone: str | None = None
    #: The data is complete up to this moment (a date means its midnight in the business's zone);
    #: records stamped after it, or after the load time when not set, are quarantined.
    complete_until: str | None = None
    #: Stop when fewer than this share of one table's customer ids appear in another (ids
    #: that never meet, e.g. integers in one file and "C…" codes in the other); 0 turns it off.
    min_id_overlap: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

    @field_validator("complete_until")
    @classmethod
    def _readable_moment(cls, value: str | None) -> str | None:
        # Read now, not at load time, so the message names the setting.
        if value is not None:
            to_utc_naive(value)
        return value

    def sources(self) -> dict[TableName, SourceSettings]:
        """The configured sources by table name, in contract order, each with its time zone."""
        zone = self.business_zone()
        return {
            name: src if src.timezone else src.model_copy(update={"timezone": zone})
            for name in TABLES
            if (src := getattr(self, name)) is not None
        }

    def business_zone(self) -> str:
        """``timezone``, else the transactions source's zone, else UTC."""
        if self.timezone:
            return self.timezone
        if self.transactions is not None and self.transactions.timezone:
            return self.transactions.timezone
        return "UTC"


class EngineSettings(_Frozen):
    """How the embedded DuckDB engine may use this machine."""

    #: DuckDB's memory limit; beyond it, large aggregations spill to ``temp_directory``. The
    #: default keeps a run under about 4 GiB however large the event stream.
    memory_limit: str = "3GB"
    #: Worker threads; 0 uses every core.
    threads: int = Field(default=0, ge=0)
    #: Where spilled data goes; None is a fresh folder in the system's temporary directory.
    temp_directory: Path | None = None

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", value):
            raise ValueError(f"expected a size such as '3GB' or '512MB', got {value!r}")
        return value.strip()


def _positive_sorted(values: tuple[int, ...], key: str) -> tuple[int, ...]:
    if not values or any(v <= 0 for v in values):
        raise ValueError(f"{key} must be a non-empty list of positive day counts")
    if list(values) != sorted(set(values)):
        raise ValueError(f"{key} must be strictly increasing, got {list(values)}")
    return values


class FeatureSettings(_Frozen):
    """Windows and limits of the point-in-time features."""

    #: Every windowed family (counts, sums, trends) is built for each of these, in days.
    windows_days: tuple[int, ...] = (30, 90, 180, 365)
    #: Length of the weekly series whose least-squares slope measures a trend.
    trend_weeks: int = Field(default=12, ge=3, le=104)
    #: Event types to build engagement features for; None = the most frequent ones in the data.
    event_types: tuple[str, ...] | None = None
    max_event_types: int = Field(default=10, ge=1, le=50)
    #: Customer attributes with more distinct values than this are dropped as identifiers.
    max_attribute_levels: int = Field(default=200, ge=2)

    @field_validator("windows_days")
    @classmethod
    def _windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _positive_sorted(value, "windows_days")


class LabelSettings(_Frozen):
    """What the models predict over ``[T, T + horizon)`` and the periods after it."""

    horizon_days: int = Field(default=90, ge=1, le=3650)
    periods: int = Field(default=3, ge=1, le=24)
    #: A customer has "declined" when horizon spend fell by at least this share of the
    #: spend in the equally long window before T.
    decline_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    #: Active at the cutoff (the retention question; else lapsed, the win-back question): the
    #: last order within this multiple of the customer's own mean gap between orders, …
    active_gap_multiple: float = Field(default=3.0, gt=0.0)
    #: … but never less than this many days (``auto``: one horizon; also the allowance of a
    #: customer with one order, who has no gap yet) …
    active_min_days: int | Literal["auto"] = Field(default="auto")
    #: … nor more than this.
    active_max_days: int = Field(default=365, ge=1)


class SegmentSettings(_Frozen):
    """Rules for lifecycle stages and value × loyalty segments (documented in segments.py)."""

    new_days: int = Field(default=90, ge=1)
    churned_after_days: int = Field(default=180, ge=1)
    #: Spend in the last window against the average of the windows before it.
    growth_ratio: float = Field(default=1.25, gt=1.0)
    decline_ratio: float = Field(default=0.5, gt=0.0, lt=1.0)
    #: Overdue ratio (days since last order / usual gap) beyond which a customer is declining.
    overdue_ratio: float = Field(default=2.0, gt=1.0)
    #: Stage windows, in days: the recent window and the reference window before it.
    stage_window_days: int = Field(default=90, ge=7)
    stage_reference_days: int = Field(default=270, ge=7)
    #: Share of customers with the highest margin over the last 365 days that count as high value.
    high_value_share: float = Field(default=0.2, gt=0.0, lt=1.0)
    #: Orders in the last 365 days at which a customer counts as loyal.
    loyal_min_orders: int = Field(default=4, ge=1)
    loyal_min_tenure_days: int = Field(default=180, ge=0)


#: The minimum history ``auto`` asks for where the data allow it.
AUTO_MIN_HISTORY_DAYS = 180


class SnapshotSettings(_Frozen):
    """The calendar of training cutoffs."""

    frequency: Literal["week", "month", "quarter"] = "month"
    #: The first cutoff is at least this long after the first record, so features have history.
    #: ``auto``: 180 days, shortened (to no less than one horizon) where the history is too short
    #: to leave two horizons after it (snapshots.min_history).
    min_history_days: int | Literal["auto"] = Field(default="auto")
    #: Keep at most this many cutoffs (the most recent ones); 0 keeps all.
    max_cutoffs: int = Field(default=0, ge=0)


__all__ = [
    "CONTRACT_COLUMNS",
    "TABLES",
    "DataSettings",
    "EngineSettings",
    "FeatureSettings",
    "LabelSettings",
    "SegmentSettings",
    "SnapshotSettings",
    "SourceSettings",
    "TableName",
]
