"""Build the point-in-time feature table for one or many cutoffs in one DuckDB query.

Every feature at cutoff ``T`` uses only records stamped strictly before ``T``: each source is
joined to the cutoffs on ``timestamp < as_of`` before anything is aggregated. Three per-record
values are computed ahead of the join: an order's gap to the customer's previous order and an
event's previous event, which depend on earlier records alone, and whether an offer was
redeemed, which looks ahead of the offer and is therefore read only for offers whose redemption
window closed before ``T``. A training set is the same query over many cutoffs; scoring is the
same query over one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from winback.common.errors import SettingsError
from winback.common.output import write_query

# Imported for their side effect: each module registers its feature families.
from winback.features import campaign_exposure, engagement, profile, rfm  # noqa: F401
from winback.features.campaign_exposure import redeemed_within
from winback.features.dataset import Dataset
from winback.features.definitions import (
    FAMILIES,
    MONEY_TYPE,
    WEEK_US,
    WIDE_MONEY_TYPE,
    Feature,
    Source,
    family_of,
    micros_between,
    money,
    sql_identifier,
)
from winback.features.engagement import (
    EVENTS_TABLE,
    aged_event_columns,
    event_partials,
    events_table_sql,
    usage_totals,
)
from winback.features.rfm import order_totals
from winback.features.settings import FeatureSettings

ORDERS_TABLE = "_winback_orders"
CUTOFFS_TABLE = "_winback_cutoffs"
KEYS = ("customer_id", "as_of")


@dataclass(frozen=True)
class FeaturePlan:
    """The concrete feature set for one dataset and settings, in output order."""

    features: tuple[Feature, ...]
    #: Event type identifier → the raw value in the data.
    event_types: dict[str, str]
    #: Output column → customer attribute column in the data.
    attributes: dict[str, str]
    windows_days: tuple[int, ...] = FeatureSettings().windows_days
    trend_weeks: int = FeatureSettings().trend_weeks

    @property
    def columns(self) -> list[str]:
        """Feature columns in output order (without the keys)."""
        return [f.name for f in self.features] + list(self.attributes)

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain data (for JSON): what a model needs to rebuild its inputs."""
        return {
            "features": [asdict(f) for f in self.features],
            "event_types": dict(self.event_types),
            "attributes": dict(self.attributes),
            "windows_days": list(self.windows_days),
            "trend_weeks": self.trend_weeks,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> FeaturePlan:
        """The plan written by :meth:`to_dict`."""
        return cls(
            features=tuple(_feature(f) for f in document["features"]),
            event_types=dict(document["event_types"]),
            attributes=dict(document["attributes"]),
            windows_days=tuple(document["windows_days"]),
            trend_weeks=int(document["trend_weeks"]),
        )

    def by_source(self, source: Source) -> list[Feature]:
        """The aggregate features computed from one source table."""
        return [f for f in self.features if f.source == source and f.kind == "aggregate"]


def _feature(document: dict[str, Any]) -> Feature:
    """A feature as written by :meth:`FeaturePlan.to_dict`.

    A plan written before features declared their risk side takes it from the family today.
    """
    if "risk" not in document:
        family = family_of(document["family"])
        document = {**document, "risk": family.risk if family is not None else None}
    return Feature(**document)


def plan_features(
    dataset: Dataset, settings: FeatureSettings, until: datetime | None = None
) -> FeaturePlan:
    """Choose the features the data supports: families, event types and attributes.

    Event types, when not set, are the most frequent ones among events before ``until`` (the
    latest cutoff), so records from after the cutoffs cannot change which columns exist.
    """
    event_types = _choose_event_types(dataset, settings, until)
    present = set(dataset.columns) | {
        f"{t}.{c}" for t, cols in dataset.columns.items() for c in cols
    }
    features: list[Feature] = []
    for family in FAMILIES:
        source_loaded = family.source == "customers" or family.source in dataset.columns
        if not source_loaded or not all(r in present for r in family.requires):
            continue
        features.extend(
            family.expand(settings.windows_days, tuple(event_types), settings.trend_weeks)
        )
    # Purchases first, then engagement, offers and profile: the order a reader scans them in.
    order = ("transactions", "events", "campaigns", "customers")
    features.sort(key=lambda f: order.index(f.source))
    names = [f.name for f in features]
    if len(names) != len(set(names)):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SettingsError(f"feature names collide: {dupes} (rename the event types)")
    return FeaturePlan(
        tuple(features),
        event_types,
        _choose_attributes(dataset, settings),
        settings.windows_days,
        settings.trend_weeks,
    )


def _choose_event_types(
    dataset: Dataset, settings: FeatureSettings, until: datetime | None
) -> dict[str, str]:
    if not dataset.has("events"):
        return {}
    if settings.event_types is not None:
        raw = list(settings.event_types)
    else:
        where = 'WHERE "timestamp" < ?' if until is not None else ""
        rows = dataset.con.execute(
            f"SELECT event_type, count(*) AS n FROM events {where} "
            "GROUP BY event_type ORDER BY n DESC, event_type LIMIT ?",
            [*([until] if until is not None else []), settings.max_event_types],
        ).fetchall()
        raw = sorted(r[0] for r in rows)
    chosen: dict[str, str] = {}
    for value in raw:
        key = sql_identifier(value)
        if key in chosen:
            raise SettingsError(
                f"event types {chosen[key]!r} and {value!r} both map to {key!r}; "
                "list the ones to use in [features] event_types"
            )
        chosen[key] = value
    return chosen


def _choose_attributes(dataset: Dataset, settings: FeatureSettings) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for column in dataset.attributes:
        (levels,) = dataset.con.execute(
            f'SELECT count(DISTINCT "{column}") FROM customers'
        ).fetchall()[0]
        is_text = dataset.con.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'customers' AND column_name = ?",
            [column],
        ).fetchall()[0][0] in ("VARCHAR", "BOOLEAN")
        # A text column with a value for nearly every customer is an identifier, not a category.
        if is_text and levels > settings.max_attribute_levels:
            continue
        chosen[f"attr_{sql_identifier(column)}"] = column
    return chosen


def prepare_orders(dataset: Dataset) -> str:
    """Create (once per dataset) the table of orders and refunds that features and labels read.

    Lines with the same customer, order id and timestamp form one order; a negative net amount
    makes a refund. Money (``amount``, ``margin`` = amount − cost, ``discount``) is held as
    ``MONEY_TYPE``, a decimal with 4 places, so every sum over it is exact and the same whatever
    order the engine adds rows up in. (Where an order's lines add up beyond its 18 digits, the
    table holds 38 digits instead: exact as well, only slower.) ``gap_seconds`` is the whole
    number of seconds (rounded down) since the customer's previous order, an integer for the
    same reason; it is computed from earlier orders only, so it is point-in-time.
    """
    if ORDERS_TABLE in dataset.prepared:
        return ORDERS_TABLE
    has = {c: dataset.has("transactions", c) for c in ("order_id", "cost", "category", "discount")}
    amount = money("amount")
    cost = money("coalesce(cost, 0)") if has["cost"] else "0"
    discount = money("coalesce(discount, 0)")
    if has["order_id"] and dataset.order_lines:
        # Lines of one order share customer, order id and timestamp; a refund stamped later under
        # the same order id stays a separate (negative) row, so no future value is pulled back.
        rows = f"""
            SELECT customer_id, "timestamp", sum({amount}) AS amount,
                   sum({amount} - {cost}) AS margin
                   {", min(category) AS category" if has["category"] else ""}
                   {f", sum({discount}) AS discount" if has["discount"] else ""}
            FROM transactions
            GROUP BY customer_id, order_id, "timestamp"
        """
    else:
        rows = f"""
            SELECT customer_id, "timestamp", {amount} AS amount, {amount} - {cost} AS margin
                   {", category" if has["category"] else ""}
                   {f", {discount} AS discount" if has["discount"] else ""}
            FROM transactions
        """
    previous = 'lag("timestamp") OVER (PARTITION BY customer_id, amount >= 0 ORDER BY "timestamp")'

    def create(money_type: str) -> None:
        dataset.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {ORDERS_TABLE} AS
            WITH rows AS ({rows})
            SELECT customer_id, "timestamp", CAST(amount AS {money_type}) AS amount,
                   CAST(margin AS {money_type}) AS margin
                   {", category" if has["category"] else ""}
                   {f", CAST(discount AS {money_type}) AS discount" if has["discount"] else ""},
                   amount >= 0 AS is_order,
                   CASE WHEN amount >= 0 THEN
                       {micros_between(previous, '"timestamp"')} // 1000000
                   END AS gap_seconds
            FROM rows
        """)

    try:
        create(MONEY_TYPE)
    except duckdb.ConversionException:
        # Some order's lines (or an amount minus its cost) add up beyond MONEY_TYPE: the contract
        # bounds each value, not their sums. Sums of 38 digits cannot overflow.
        create(WIDE_MONEY_TYPE)
    dataset.prepared.add(ORDERS_TABLE)
    return ORDERS_TABLE


def prepare_events(dataset: Dataset) -> str:
    """Create (once per dataset) the events table the features read (``engagement``)."""
    if EVENTS_TABLE not in dataset.prepared:
        dataset.con.execute(f"CREATE OR REPLACE TEMP TABLE {EVENTS_TABLE} AS {events_table_sql()}")
        dataset.prepared.add(EVENTS_TABLE)
    return EVENTS_TABLE


def set_cutoffs(dataset: Dataset, cutoffs: Iterable[date | datetime | str]) -> list[datetime]:
    """Store the cutoffs in the connection as the table every builder query joins."""
    moments = sorted({dataset.cutoff(c) for c in cutoffs})
    if not moments:
        raise SettingsError("no cutoffs to build features for")
    dataset.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CUTOFFS_TABLE} AS SELECT unnest(?::TIMESTAMP[]) AS as_of",
        [moments],
    )
    return moments


def _aged(table: str, columns: str) -> str:
    """Rows of ``table`` joined to every cutoff they precede, with their age at that cutoff."""
    age = micros_between('t."timestamp"', "c.as_of")
    return f"""
        SELECT t.customer_id, c.as_of, {age} AS age_us,
               CAST(floor(({age} - 1) / {WEEK_US}) AS BIGINT) AS week_back{columns}
        FROM {table} t JOIN {CUTOFFS_TABLE} c ON t."timestamp" < c.as_of
    """


def _aggregate(
    name: str,
    base: str,
    features: Sequence[Feature],
    first_seen: str,
    totals: dict[str, str] | None = None,
) -> str:
    """One source's aggregate features per (customer, cutoff), with internal ``totals``."""
    selects = ",\n".join(
        [f'CAST({f.expression} AS DOUBLE) AS "{f.name}"' for f in features]
        + [f"{expr} AS {col}" for col, expr in (totals or {}).items()]
    )
    return f"""{name} AS (
        SELECT customer_id, as_of, {first_seen} AS _first_seen_us{"," if selects else ""}
        {selects}
        FROM ({base}) GROUP BY customer_id, as_of
    )"""


def feature_sql(dataset: Dataset, plan: FeaturePlan) -> str:
    """The query producing one row per (customer known before as_of, cutoff).

    A customer is known at ``as_of`` once they have an order, an event, or a signup date before
    it. Reads the cutoffs table set by :func:`set_cutoffs`.
    """
    orders = prepare_orders(dataset)
    order_sums = order_totals()
    # Internal per-customer totals the derived families read beside the features (0 if none).
    carried = [f"coalesce({col}, 0) AS {col}" for col in order_sums]
    order_cols = [c for c in ("category", "discount") if dataset.has("transactions", c)]
    ctes = [
        _aggregate(
            "tx",
            _aged(
                orders,
                ", t.amount, t.margin, t.is_order, t.gap_seconds"
                + "".join(f", t.{c}" for c in order_cols),
            ),
            plan.by_source("transactions"),
            "max(age_us)",
            order_sums,
        )
    ]
    parts = ["tx"]
    if dataset.has("events"):
        keys = list(plan.event_types.items())
        # Grouping on a small integer is much cheaper than on the text of the type.
        code = " ".join(
            f"WHEN '{raw.replace(chr(39), chr(39) * 2)}' THEN {i}"
            for i, (_, raw) in enumerate(keys)
        )
        code = f"CASE t.event_type {code} END" if keys else "CAST(NULL AS INTEGER)"
        name = " ".join(f"WHEN {i} THEN '{k}'" for i, (k, _) in enumerate(keys))
        key = f"CASE event_code {name} END" if keys else "CAST(NULL AS VARCHAR)"
        partials = event_partials(plan.windows_days, plan.trend_weeks)
        # Two steps: one pass over the raw events per (customer, cutoff, type), then features.
        per_type = f"""
            SELECT customer_id, as_of, {key} AS event_key,
                   {", ".join(f"{expr} AS {name}" for name, expr in partials.items())}
            FROM ({_aged(prepare_events(dataset), f", {code} AS event_code{aged_event_columns()}")})
            GROUP BY customer_id, as_of, event_code
        """
        totals = usage_totals(plan.windows_days)
        ctes.append(
            _aggregate("ev", per_type, plan.by_source("events"), "max(first_age_us)", totals)
        )
        parts.append("ev")
        carried += [f"coalesce({col}, 0) AS {col}" for col in totals]
    if dataset.has("campaigns"):
        treated = "coalesce(t.treated, FALSE)" if dataset.has("campaigns", "treated") else "TRUE"
        cost = f", {money('t.cost')} AS cost" if dataset.has("campaigns", "cost") else ""
        offers, redeemed = "campaigns", ""
        if dataset.has("transactions", "discount"):
            # Whether an order with a discount followed within the redemption window. It looks
            # ahead of the record, so features read it only once the window has closed before
            # as_of (campaign_exposure.redemption_closed); computed once per record, not per cutoff.
            flag = redeemed_within(orders, "k.customer_id", 'k."timestamp"')
            offers = f"(SELECT k.*, {flag} AS redeemed FROM campaigns k)"
            redeemed = ", t.redeemed"
        ctes.append(
            _aggregate(
                "cp",
                _aged(offers, f", {treated} AS treated{cost}{redeemed}"),
                plan.by_source("campaigns"),
                "NULL",
            )
        )
        parts.append("cp")
    has_signup = dataset.has("customers", "signup_date")
    if has_signup:
        ctes.append(f"""su AS (
            SELECT s.customer_id, c.as_of,
                   {micros_between("s.signup_date", "c.as_of")} AS _first_seen_us
            FROM customers s JOIN {CUTOFFS_TABLE} c ON s.signup_date < c.as_of
        )""")
    # Campaign records alone do not make a customer known: an offer is our action, not theirs.
    known_parts = [p for p in parts if p != "cp"] + (["su"] if has_signup else [])
    union = " UNION ALL ".join(
        f"SELECT customer_id, as_of, _first_seen_us FROM {p}" for p in known_parts
    )
    ctes.append(f"""known AS (
        SELECT customer_id, as_of, max(_first_seen_us) AS first_seen_us
        FROM ({union}) GROUP BY customer_id, as_of
    )""")
    joins = "\n".join(f"LEFT JOIN {p} USING (customer_id, as_of)" for p in parts)
    signup = (
        "LEFT JOIN (SELECT customer_id, as_of, _first_seen_us AS signup_age_us FROM su) "
        "USING (customer_id, as_of)"
        if has_signup
        else ""
    )
    aggregate_cols = [
        f'coalesce("{f.name}", {f.fill}) AS "{f.name}"' if f.fill is not None else f'"{f.name}"'
        for f in plan.features
        if f.kind == "aggregate"
    ]
    ctes.append(f"""filled AS (
        SELECT customer_id, as_of, first_seen_us
               {"".join(", " + c for c in [*aggregate_cols, *carried])}
               {", signup_age_us" if has_signup else ""}
        FROM known {joins} {signup}
    )""")
    outputs = [
        f'CAST({f.expression} AS DOUBLE) AS "{f.name}"' if f.kind == "derived" else f'f."{f.name}"'
        for f in plan.features
    ]
    outputs += [f'a."{raw}" AS "{col}"' for col, raw in plan.attributes.items()]
    attrs = "LEFT JOIN customers a USING (customer_id)" if plan.attributes else ""
    return f"""
        WITH {",".join(ctes)}
        SELECT customer_id, as_of, {", ".join(outputs)}
        FROM filled f {attrs}
        ORDER BY as_of, customer_id
    """


def build_features(
    dataset: Dataset,
    as_of: date | datetime | str | Sequence[date | datetime | str],
    settings: FeatureSettings | None = None,
    plan: FeaturePlan | None = None,
) -> pd.DataFrame:
    """Features as of one cutoff or many, one row per (customer_id, as_of), sorted by both.

    Pass ``plan`` (from training) to score with exactly the columns a model was trained on.
    """
    settings = settings or FeatureSettings()
    cutoffs = set_cutoffs(dataset, [as_of] if _is_scalar(as_of) else as_of)  # type: ignore[list-item, arg-type]
    plan = plan or plan_features(dataset, settings, until=cutoffs[-1])
    return dataset.con.sql(feature_sql(dataset, plan)).df()


def write_features(
    dataset: Dataset,
    as_of: date | datetime | str,
    out: Path,
    settings: FeatureSettings | None = None,
) -> tuple[int, FeaturePlan]:
    """Write the feature table for one cutoff to ``out`` (.parquet or .csv), atomically.

    Returns the number of rows written and the plan used.
    """
    settings = settings or FeatureSettings()
    cutoffs = set_cutoffs(dataset, [as_of])
    plan = plan_features(dataset, settings, until=cutoffs[-1])
    rows = write_query(dataset.con, feature_sql(dataset, plan), out)
    return rows, plan


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | date | datetime | pd.Timestamp)


__all__ = [
    "KEYS",
    "FeaturePlan",
    "build_features",
    "feature_sql",
    "plan_features",
    "prepare_orders",
    "set_cutoffs",
    "write_features",
]
