"""Reason codes: each customer's strongest pushes towards churn, as data and as a plain sentence.

A reason is one of the churn model's SHAP contributions (log-odds, from
:func:`training.explain.top_contributions`) with the feature's value and a sentence a marketer
reads: "No order for 94 days, about 3× their usual gap", "Sessions down 60% in the last 30 days
vs the 30 days before".

Sentences are generated from the feature dictionary (``ModelBundle.dictionary``), never written
per feature: a rule is chosen by the row's unit (days, orders, currency, ratio, share, …), refined
by the family's name pattern (``days_since_*``, ``*_trend_*``, ``gap_*``), and its words are taken
from the meaning, which the family's docstring generates ("Change in net spend from …" gives
"net spend"). A new family with a known unit therefore gets a sentence without code here, and an
unknown unit still reads "<meaning>: <value> <unit>".

Context makes a number meaningful. Two kinds, at most one per sentence:

* the customer's own usual level, where a feature has one (days since the last order as a
  multiple of their mean gap between orders, from ``overdue_ratio``);
* the population: a *reference* (:func:`reason_reference`) holds percentiles of every numeric
  input, so a value reads "higher than 85% of customers". Build it once over the scored
  population (or the training rows) and pass it to every chunk, so chunks agree.

Cost: the contributions dominate. Measured on 50,000 rows of the synthetic world's model (shared
2-core machine, 1 thread): contributions and ranking 0.4–0.6 ms a row, everything here after
them 0.014 ms a row with a reference (0.010 without), :func:`reasons_json` 0.010 ms a row. That
is because the dictionary is parsed once per feature, contexts are computed per feature with
numpy, and each reason costs one short formatting call.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from training.bundle import ModelBundle
from training.explain import top_contributions

#: Keys of one reason in :meth:`Reason.to_dict` and :func:`reasons_json`, in order.
REASON_KEYS = ("feature", "value", "contribution", "sentence")
#: Columns of :func:`reason_reference`: the 0th to 100th percentile of each feature.
REFERENCE_COLUMNS = tuple(f"p{i}" for i in range(101))
#: Dictionary columns the sentences are made from.
_ENTRY_COLUMNS = ("name", "meaning", "window_days", "unit", "family", "source")

# Decimal places kept in the JSON text: enough to rank and read, few enough that the last bits of
# floating-point noise (thread count, platform) do not change the bytes.
_CONTRIBUTION_DECIMALS = 4
_VALUE_DIGITS = 6

# The one cross-feature rule: a feature and the feature expressing it as a multiple of the
# customer's own usual level. The multiple is better context than any population figure.
_OWN_USUAL = {"days_since_last_order": ("overdue_ratio", "their usual gap")}
# What a customer without rows in a source has none of (why a windowed value is missing).
_SOURCE_NOUN = {
    "transactions": "orders",
    "events": "engagement events",
    "campaigns": "retention offers",
}
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# A trend of exactly ±1 means one of the two windows was empty; allow for float rounding.
_EDGE = 1e-9


@dataclass(frozen=True, slots=True)
class Reason:
    """One push towards churn: the feature, the customer's value, its log-odds contribution."""

    feature: str
    #: A number, a category level, or None when the customer has no value.
    value: float | str | None
    #: SHAP value on the churn model's log-odds scale (positive: towards churn).
    contribution: float
    sentence: str

    def to_dict(self) -> dict[str, object]:
        """The reason as written to the scores table: floats rounded so the bytes are stable."""
        value = self.value
        if isinstance(value, float):
            value = _stable(float(f"{value:.{_VALUE_DIGITS}g}"))
        contribution = _stable(round(self.contribution, _CONTRIBUTION_DECIMALS))
        return {
            "feature": self.feature,
            "value": value,
            "contribution": contribution,
            "sentence": self.sentence,
        }


@dataclass(frozen=True, slots=True)
class Context:
    """What a sentence may compare its value with; None where unknown."""

    #: Share of the reference population with a smaller value (a lower bound, to 1 point).
    below: float | None = None
    #: Share of the reference population with a larger value (a lower bound, to 1 point).
    above: float | None = None
    #: The value as a multiple of the customer's own usual level (e.g. their overdue ratio).
    usual: float | None = None


_NO_CONTEXT = Context()


# --- the public functions -----------------------------------------------------------------------


def reason_codes(
    bundle: ModelBundle,
    features: pd.DataFrame,
    dictionary: pd.DataFrame,
    k: int = 3,
    reference: pd.DataFrame | None = None,
    chunk_size: int = 50_000,
) -> list[list[Reason]]:
    """The ``k`` strongest pushes towards churn of each row of ``features``, strongest first.

    One list per row, in the order of ``features``; a row with no positive contribution gets an
    empty list. ``dictionary`` is ``bundle.dictionary(settings)`` and must describe every model
    input. ``reference`` (from :func:`reason_reference`) adds population context; features it
    lacks simply get none. Contributions are computed ``chunk_size`` rows at a time.
    """
    entries = _entries(dictionary, bundle.horizon_days)
    inputs = bundle.model_inputs(features)
    undescribed = [c for c in inputs.columns if c not in entries]
    if undescribed:
        raise ValueError(
            f"the dictionary does not describe model inputs {undescribed[:5]}"
            f"{' …' if len(undescribed) > 5 else ''}; pass bundle.dictionary(settings)"
        )
    grids = _grids(reference) if reference is not None else {}
    top = top_contributions(bundle.churn, inputs, k, direction="increase", chunk_size=chunk_size)
    rows = top["row"].to_numpy()
    raw = top["value"].to_numpy(dtype=object)
    values = np.empty(len(top), dtype=object)
    sentences = np.empty(len(top), dtype=object)
    # Work one feature at a time (one rule, one context computation), grouped by a single sort.
    codes, names = pd.factorize(top["feature"])
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    for code, name in enumerate(names):
        at = order[bounds[code] : bounds[code + 1]]
        entry = entries[name]
        shown, numeric = _plain_values(raw[at], entry)
        values[at] = shown
        render = _renderer(entry)
        contexts = _contexts(entry, numeric, rows[at], inputs, grids.get(name))
        sentences[at] = [render(v, c) for v, c in zip(shown, contexts, strict=True)]
    features_of = names.to_numpy(dtype=object)[codes]
    out: list[list[Reason]] = [[] for _ in range(len(features))]
    for row, name, value, contribution, text in zip(
        rows.tolist(), features_of, values, top["contribution"].tolist(), sentences, strict=True
    ):
        out[row].append(Reason(name, value, contribution, text))
    return out


def reason_reference(inputs: pd.DataFrame, *, max_rows: int = 200_000) -> pd.DataFrame:
    """Percentiles of each numeric column of ``inputs``: the population a value is compared with.

    Pass the model inputs (``bundle.model_inputs(features)``) of the scored population or of the
    training rows. One row per numeric or boolean column (index: feature), columns
    :data:`REFERENCE_COLUMNS` (``p0`` … ``p100``), each an observed value (the inverted empirical
    CDF, so the many equal values of a count column stay equal); missing values are left out,
    and a column with none observed gets NaN. Above ``max_rows`` rows a seeded sample is used:
    percentiles to a point need no more, and a million rows would cost seconds.
    """
    if len(inputs) > max_rows:
        keep = np.random.default_rng(0).choice(len(inputs), size=max_rows, replace=False)
        inputs = inputs.iloc[np.sort(keep)]
    levels = np.linspace(0.0, 1.0, len(REFERENCE_COLUMNS))
    rows: dict[str, np.ndarray] = {}
    for column in inputs.columns:
        series = inputs[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            continue
        observed = series.to_numpy(dtype="float64", na_value=np.nan)
        observed = np.sort(observed[~np.isnan(observed)])
        if len(observed) == 0:
            rows[str(column)] = np.full(len(levels), np.nan)
            continue
        # Inverted CDF: the smallest value with at least a share p of values at or below it.
        at = np.clip(np.ceil(levels * len(observed)).astype("int64") - 1, 0, len(observed) - 1)
        rows[str(column)] = observed[at]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(REFERENCE_COLUMNS))
    frame.index.name = "feature"
    return frame


def sentence(
    entry: Mapping[str, object] | pd.Series, value: object, context: Context | None = None
) -> str:
    """The plain-language reason for one value of the feature ``entry`` describes.

    ``entry`` is a row of the feature dictionary (name, meaning, window_days, unit, family,
    source); ``context`` adds the customer's own usual level or the population's, where known.
    """
    parsed = _entry(entry)
    shown, _ = _plain_values(np.array([value], dtype=object), parsed)
    return _renderer(parsed)(shown[0], context or _NO_CONTEXT)


def reasons_json(reasons: Sequence[Sequence[Reason]]) -> list[str]:
    """Compact JSON per row (a list of {feature, value, contribution, sentence}); byte-stable."""
    return [
        json.dumps(
            [r.to_dict() for r in row], ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        for row in reasons
    ]


def reasons_text(reasons: Sequence[Sequence[Reason]]) -> list[str]:
    """The sentences of each row joined by "; " (empty for a row without reasons)."""
    return ["; ".join(r.sentence for r in row) for row in reasons]


# --- the dictionary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One dictionary row, hashable so that its renderer is built once."""

    name: str
    meaning: str
    unit: str
    family: str
    source: str
    window_days: int | None


def _entry(row: Mapping[str, object] | pd.Series) -> _Entry:
    missing = [c for c in _ENTRY_COLUMNS if c not in row]
    if missing:
        raise ValueError(f"a feature dictionary row needs {missing}; pass bundle.dictionary(…)")
    window = row["window_days"]
    return _Entry(
        name=str(row["name"]),
        meaning=str(row["meaning"]),
        unit=str(row["unit"]),
        family=str(row["family"]),
        source=str(row["source"]),
        window_days=None if window is None or pd.isna(window) else int(str(window)),
    )


def _entries(dictionary: pd.DataFrame, horizon_days: int) -> dict[str, _Entry]:
    missing = [c for c in _ENTRY_COLUMNS if c not in dictionary.columns]
    if missing:
        raise ValueError(
            f"the feature dictionary lacks columns {missing}; pass bundle.dictionary(settings)"
        )
    entries = {}
    for record in dictionary[list(_ENTRY_COLUMNS)].to_dict("records"):
        entry = _entry(record)
        # The BG/NBD inputs' meanings say "the horizon"; the bundle knows how long it is.
        meaning = entry.meaning.replace("in the horizon", f"in the next {horizon_days} days")
        entries[entry.name] = _Entry(
            entry.name, meaning, entry.unit, entry.family, entry.source, entry.window_days
        )
    return entries


def _grids(reference: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each feature's percentiles as an array; features without observed values are left out."""
    missing = [c for c in REFERENCE_COLUMNS if c not in reference.columns]
    if missing:
        raise ValueError(
            f"reference lacks percentile columns {missing[:3]}…; build it with reason_reference"
        )
    values = reference[list(REFERENCE_COLUMNS)].to_numpy(dtype="float64")
    return {
        str(name): grid
        for name, grid in zip(reference.index, values, strict=True)
        if not np.isnan(grid).any()
    }


def _plain_values(raw: np.ndarray, entry: _Entry) -> tuple[list[float | str | None], np.ndarray]:
    """Values as JSON-ready Python objects, and as floats (NaN for missing or text)."""
    if entry.unit == "category":
        shown: list[float | str | None] = [None if _is_missing(v) else str(v) for v in raw]
        return shown, np.full(len(raw), np.nan)
    numeric = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    return [None if math.isnan(v) else v for v in numeric.tolist()], numeric


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _contexts(
    entry: _Entry,
    numeric: np.ndarray,
    rows: np.ndarray,
    inputs: pd.DataFrame,
    grid: np.ndarray | None,
) -> list[Context]:
    """Each reason's context, computed for all rows of one feature at once."""
    own = _OWN_USUAL.get(entry.family, ("", ""))[0]
    if grid is None and own not in inputs.columns:
        return [_NO_CONTEXT] * len(rows)
    nothing = np.full(len(rows), np.nan)
    usual = nothing
    if own in inputs.columns:
        usual = inputs[own].to_numpy(dtype="float64", na_value=np.nan)[rows]
    below, above = nothing, nothing
    if grid is not None:
        # With p_j the j-th percentile (an observed value), values ≤ p_j are at least j% of the
        # population; so if m grid points lie below v, at least (m − 1)% of customers do too.
        step = len(grid) - 1
        below = np.maximum(np.searchsorted(grid, numeric, side="left") - 1, 0) / step
        above = np.maximum(len(grid) - np.searchsorted(grid, numeric, side="right") - 1, 0) / step
        missing = np.isnan(numeric)
        below, above = np.where(missing, np.nan, below), np.where(missing, np.nan, above)
    return [
        Context(
            below=None if math.isnan(b) else b,
            above=None if math.isnan(a) else a,
            usual=None if math.isnan(u) else u,
        )
        for b, a, u in zip(below.tolist(), above.tolist(), usual.tolist(), strict=True)
    ]


# --- words from the dictionary ------------------------------------------------------------------

_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_SUBJECT_END = re.compile(r" in \[| before as_of| over |[,:;.]")
_QUOTED_EVENTS = re.compile(r"'([^']+)' events?")
_QUOTED = re.compile(r"'([^']+)'")
_WINDOW = re.compile(r"as_of − (\d+) days")
_WEEKS = re.compile(r"last (\d+) weeks")
_TREND = re.compile(r"^Change in (?P<subject>.+?) from ")
_SLOPE = re.compile(r"slope of weekly (?P<subject>.+?) over ")
_SHARE = re.compile(r"^(?P<part>.+?) as a share of (?P<whole>.+?)(?: in \[|\.|$)")
_DIVIDED = re.compile(r"^(?P<top>.+?) divided by (?P<bottom>.+?)(?:[;.]|$)")
_DAYS_FROM = re.compile(
    r"^Days from (?:the customer's |the )?(?P<which>most recent |first )?(?P<noun>.+?)"
    r"(?: the customer \w+)? to as_of"
)
_NEEDS = re.compile(r"needs (\w+) orders")


def _humanise(identifier: str) -> str:
    return identifier.replace("_", " ").replace("-", " ").strip()


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + "s"


def _singular(phrase: str) -> str:
    """The phrase with its first plural word made singular ("orders placed" → "order placed")."""
    words = phrase.split(" ")
    for i, word in enumerate(words):
        if word.endswith("ies"):
            words[i] = word[:-3] + "y"
        elif word.endswith(("ches", "shes", "sses", "xes", "zes")):
            words[i] = word[:-2]
        elif word.endswith("s") and not word.endswith("ss"):
            words[i] = word[:-1]
        else:
            continue
        break
    return " ".join(words)


def _events(text: str) -> str:
    """Quoted event types made into nouns: "'app_open' events" → "app opens"."""
    return _QUOTED_EVENTS.sub(
        lambda m: _plural(_humanise(m[1])) if m[0].endswith("s") else _humanise(m[1]), text
    )


def _lower(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym ("CRM gross margin")."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _subject(meaning: str, *, words: bool = True) -> str:
    """The thing measured: "Net spend (orders minus refunds) in […" gives "net spend".

    ``words=False`` keeps quoted identifiers as written ("'app_open' events").
    """
    text = _PARENTHESES.sub("", meaning)
    text = _SUBJECT_END.split(text, maxsplit=1)[0].strip()
    text = text.replace("the customer's", "their").replace(" to the customer", " to them")
    return _lower(_events(text) if words else text)


def _window(entry: _Entry) -> int | None:
    if entry.window_days is not None:
        return entry.window_days
    found = _WINDOW.search(entry.meaning)
    return int(found[1]) if found else None


def _span(entry: _Entry) -> str:
    """The window as words: " in the last 90 days", " so far" (lifetime) or "" (none)."""
    window = _window(entry)
    if window is not None:
        return f" in the last {window} days"
    return " so far" if "before as_of" in entry.meaning else ""


# --- numbers for people -------------------------------------------------------------------------


def _number(x: float) -> str:
    if x == round(x) and abs(x) < 1e15:
        return f"{round(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    # Two significant digits, never in exponent notation.
    return np.format_float_positional(x, precision=2, unique=False, fractional=False, trim="-")


def _money(x: float) -> str:
    text = f"{x:,.2f}"
    return "0.00" if text == "-0.00" else text


def _percent(share: float) -> str:
    pct = round(share * 100)
    if pct == 0 and share > 0:
        return "less than 1%"
    if pct == 100 and share < 1:
        return "over 99%"
    return f"{pct}%"


def _days(days: float) -> str:
    if days < 1:
        return "less than a day"
    if days >= 730:
        return f"{days / 365.25:.1f}".removesuffix(".0") + " years"
    whole = round(days)
    return "1 day" if whole == 1 else f"{whole:,} days"


def _multiple(x: float) -> str:
    return f"{round(x)}×" if x >= 2.95 else f"{x:.1f}×"


def _population(context: Context, more: str, less: str) -> str:
    """Population context, " (higher than 85% of customers)", or "" if the value is typical."""
    # Rounded down, and never "100%": the reference is a sample of customers, not all of them.
    if context.below is not None and context.below >= 0.5:
        return f" ({more} than {min(math.floor(context.below * 100), 99)}% of customers)"
    if context.above is not None and context.above >= 0.5:
        return f" ({less} than {min(math.floor(context.above * 100), 99)}% of customers)"
    return ""


def _missing_windowed(entry: _Entry) -> str | None:
    """Why a windowed or lifetime amount is empty: the customer had no rows in its source."""
    noun = _SOURCE_NOUN.get(entry.source)
    window = _window(entry)
    if noun is None:
        return None
    if window is not None:
        return f"No {noun} in the last {window} days"
    return f"No {noun} yet" if "before as_of" in entry.meaning else None


# --- rules: one per kind of feature, chosen by unit and name pattern ----------------------------

Render = Callable[[float | str | None, Context], str]


@lru_cache(maxsize=4096)
def _renderer(entry: _Entry) -> Render:
    """The sentence rule for ``entry``: all parsing of its meaning happens here, once."""
    build = next((b for applies, b in _RULES if applies(entry)), _fallback)
    return build(entry)


def _category(entry: _Entry) -> Render:
    quoted = _QUOTED.search(entry.meaning)
    what = _upper(_humanise(quoted[1] if quoted else entry.name.removeprefix("attr_")))

    def render(value: float | str | None, context: Context) -> str:
        return f"{what} unknown" if value is None else f"{what} is {value}"

    return render


def _month(entry: _Entry) -> Render:
    def render(value: float | str | None, context: Context) -> str:
        if isinstance(value, float) and 1 <= value <= 12:
            return f"Time of year: {_MONTHS[round(value) - 1]}"
        return "Time of year unknown"

    return render


def _model_output(entry: _Entry) -> Render:
    """Inputs made by another model (BG/NBD): its own meaning, then the value in its unit."""
    meaning = entry.meaning.rstrip(".")
    show = {"probability": _percent, "currency": _money}.get(entry.unit, _number)

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return f"{meaning}: no estimate (no orders yet)"
        return f"{meaning}: {show(value)}{_population(context, 'higher', 'lower')}"

    return render


def _trend(entry: _Entry) -> Render:
    """Change s = (recent − previous)/(recent + previous), so recent/previous = (1+s)/(1−s)."""
    found = _TREND.match(entry.meaning)
    subject = _upper(_events(found["subject"])) if found else _upper(_subject(entry.meaning))
    window = _window(entry)
    if window:
        span = f"in the last {window} days vs the {window} days before"
        missing = f"No {_lower(subject)} in the last {2 * window} days"
        edge = (
            f": none in the last {window} days, some before",
            f": some in the last {window} days, none before",
        )
    else:
        span, missing, edge = "recently", f"No {_lower(subject)} recently", ("", "")

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return missing
        if abs(value) > 1 + _EDGE:  # a net amount that changed sign (refunds beat purchases)
            return f"{subject} turned from purchases to refunds or back, {span}"
        if abs(value) >= 1 - _EDGE:  # one of the two windows was empty
            return f"{subject} {'stopped' if value < 0 else 'started'}{edge[value > 0]}"
        ratio = (1 + value) / (1 - value)
        change = f"{round(abs(ratio - 1) * 100)}%"
        if change == "0%":
            change = "flat"
        elif ratio < 1:
            change = f"down {change}"
        else:
            change = f"up {_multiple(ratio) if ratio >= 2 else change}"
        return f"{subject} {change} {span}"

    return render


def _slope(entry: _Entry) -> Render:
    found = _SLOPE.search(entry.meaning)
    subject = _events(found["subject"]) if found else _subject(entry.meaning)
    weeks = _WEEKS.search(entry.meaning)
    span = f"over the last {weeks[1]} weeks" if weeks else "recently"
    show = _money if entry.unit.startswith("currency") else _number

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float) or value == 0:
            return f"Weekly {subject} flat {span}"
        step = show(abs(value))
        amount = "less than 0.01" if step == "0.00" else step
        direction = "falling" if value < 0 else "rising"
        return f"Weekly {subject} {direction} by {amount} each week {span}"

    return render


def _divided(entry: _Entry) -> Render:
    """A ratio defined as "A divided by B": read it as "A is 3.1× B"."""
    found = _DIVIDED.match(entry.meaning)
    assert found is not None  # chosen by _renderer for this match
    top = _upper(found["top"].replace("the customer's", "their"))
    bottom = found["bottom"].replace("the customer's", "their")

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return f"{_upper(bottom)} is unknown"
        return f"{top} is {_multiple(value)} {bottom}{_population(context, 'higher', 'lower')}"

    return render


def _days_rule(entry: _Entry) -> Render:
    """Durations: recency ("No order for 94 days"), first times, tenure, gaps, other days."""
    found = _DAYS_FROM.match(entry.meaning)
    if entry.family.startswith("tenure"):
        return _days_phrase(lambda d: f"Customer for {d}", "Tenure unknown", ("longer", "newer"))
    if entry.family.startswith("gap_"):
        return _gap(entry)
    if found is None:
        subject = _upper(_subject(entry.meaning))
        return _days_phrase(lambda d: f"{subject}: {d}", f"{subject} unknown", _LONGER)
    noun = _events(found["noun"]).removesuffix(" event") if "'" in found["noun"] else found["noun"]
    which = (found["which"] or "").strip()
    if which == "first":
        return _days_phrase(lambda d: f"First {noun} {d} ago", f"No {noun} yet", _EARLIER)
    if which == "":
        return _days_phrase(
            lambda d: f"{_upper(noun)}: {d} ago", f"{_upper(noun)} unknown", _EARLIER
        )
    own = _OWN_USUAL.get(entry.family)

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return f"No {noun} yet"
        # "No order for 94 days" where that stands out; "Last order 5 days ago" otherwise.
        if context.usual is not None and own is not None:
            late = context.usual >= 1.05
            about = f"about {_multiple(context.usual)}" if late else "within"
            usual = f", {about} {own[1]}"
        else:
            late = context.below is not None and context.below >= 0.5
            usual = _population(context, "longer", "more recent")
        if late and value >= 1:
            return f"No {noun} for {_days(value)}{usual}"
        return f"Last {noun} {_days(value)} ago{usual}"

    return render


_LONGER = ("longer", "shorter")
_EARLIER = ("earlier", "more recent")


def _days_phrase(phrase: Callable[[str], str], missing: str, words: tuple[str, str]) -> Render:
    """A duration in a phrase; ``words`` compare it with the population (more, less)."""

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return missing
        return phrase(_days(value)) + _population(context, *words)

    return render


def _gap(entry: _Entry) -> Render:
    """Gaps between orders: the statistic comes from the family name (gap_<stat>_days)."""
    stat = entry.family.removeprefix("gap_").removesuffix("_days")
    phrases = {
        "mean": "Usually {} between orders",
        "std": "Gaps between orders vary by about {}",
        "max": "Longest gap between orders: {}",
        "last": "Last two orders {} apart",
    }
    template = phrases.get(stat, _upper(_subject(entry.meaning)) + ": {}")
    words = ("more", "less") if stat == "std" else _LONGER
    needs = _NEEDS.search(entry.meaning)
    missing = f"Fewer than {needs[1] if needs else 'two'} orders, so no usual gap yet"

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return missing
        return template.format(_days(value)) + _population(context, *words)

    return render


def _currency(entry: _Entry) -> Render:
    subject = _upper(_subject(entry.meaning))
    span = _span(entry)
    missing = _missing_windowed(entry) or f"{subject}{span}: none"

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return missing
        return f"{subject}{span}: {_money(value)}{_population(context, 'higher', 'lower')}"

    return render


def _share(entry: _Entry) -> Render:
    found = _SHARE.match(entry.meaning)
    if found:
        head = f"{_upper(found['part'])}: {{}} of {found['whole']}{_span(entry)}"
    else:
        head = f"{_upper(_subject(entry.meaning))}{_span(entry)}: {{}}"
    missing = _missing_windowed(entry) or head.format("unknown")

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return missing
        return head.format(_percent(value)) + _population(context, "higher", "lower")

    return render


def _count(entry: _Entry) -> Render:
    """Counts whose unit names the thing counted: "3 orders placed in the last 90 days"."""
    subject = _subject(entry.meaning)
    one = _singular(subject)
    span = _span(entry)

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float) or value == 0:
            return f"No {subject}{span}"
        noun = one if value == 1 else subject
        return f"{_number(value)} {noun}{span}{_population(context, 'higher', 'lower')}"

    return render


def _fallback(entry: _Entry) -> Render:
    """Any other unit: the meaning's subject, the number and its unit."""
    subject = _upper(_subject(entry.meaning))
    span = _span(entry)

    def render(value: float | str | None, context: Context) -> str:
        if value is None:
            return f"{subject}{span}: unknown"
        shown = _number(value) if isinstance(value, float) else value
        context_text = _population(context, "higher", "lower")
        return f"{subject}{span}: {shown} {entry.unit}{context_text}"

    return render


def _is_trend(entry: _Entry) -> bool:
    return entry.unit == "ratio" and _TREND.match(entry.meaning) is not None


def _is_quotient(entry: _Entry) -> bool:
    return entry.unit == "ratio" and _DIVIDED.match(entry.meaning) is not None


def _counts_its_unit(entry: _Entry) -> bool:
    """The unit names the thing counted (orders, events, offers, categories, …)."""
    return entry.unit in _subject(entry.meaning, words=False).split(" ")


#: The rules in order of precedence; the first that applies builds the renderer.
_RULES: tuple[tuple[Callable[[_Entry], bool], Callable[[_Entry], Render]], ...] = (
    (lambda e: e.unit == "category", _category),
    (lambda e: e.family == "btyd", _model_output),
    (lambda e: e.unit == "month", _month),
    (lambda e: e.unit.endswith("/week²"), _slope),
    (_is_trend, _trend),
    (_is_quotient, _divided),
    (lambda e: e.unit == "days", _days_rule),
    (lambda e: e.unit == "currency", _currency),
    (lambda e: e.unit in ("share", "probability"), _share),
    (_counts_its_unit, _count),
)


def _stable(x: float) -> float:
    return x + 0.0  # turns -0.0 into 0.0, so the JSON never shows "-0.0"


__all__ = [
    "REASON_KEYS",
    "REFERENCE_COLUMNS",
    "Context",
    "Reason",
    "reason_codes",
    "reason_reference",
    "reasons_json",
    "reasons_text",
    "sentence",
]
