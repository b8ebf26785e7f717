"""Sentences from the feature dictionary: one rule per kind of feature, chosen by unit and name.

A rule is chosen by a dictionary row's unit (days, orders, currency, ratio, share, …), refined by
the family's name pattern (``days_since_*``, ``*_trend_*``, ``gap_*``), and its words are taken
from the meaning, which the family's docstring generates ("Change in net spend from …" gives
"net spend"). :func:`renderer` builds, once per feature, the function turning a value and its
:class:`Context` into the sentence; :mod:`serving.reasons` applies it to each customer's reasons.
:func:`plain_name` names what a feature measures in the same words ("time since last order"),
for a list's summary.

The words are a marketer's: no column names, and no model names a marketer has no reason to
know. The BG/NBD model of the data scientist's report is "a purchase-pattern model" here
(:data:`PLAIN_TERMS`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

#: Dictionary columns the sentences are made from.
ENTRY_COLUMNS = ("name", "meaning", "window_days", "unit", "family", "source")

# The one cross-feature rule: a feature and the feature expressing it as a multiple of the
# customer's own usual level. The multiple is better context than any population figure.
OWN_USUAL = {"days_since_last_order": ("overdue_ratio", "their usual gap")}
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
#: Technical terms of the dictionary's meanings and the plain words a marketer reads instead.
PLAIN_TERMS = (
    (re.compile(r"\bthe BG/NBD model\b"), "a purchase-pattern model"),
    (re.compile(r"\bBG/NBD with Gamma-Gamma\b"), "a purchase-pattern model"),
    (re.compile(r"\bBG/NBD\b"), "purchase-pattern"),
)


@dataclass(frozen=True, slots=True)
class Context:
    """What a sentence may compare its value with; None where unknown."""

    #: Share of the reference population with a smaller value (a lower bound, to 1 point).
    below: float | None = None
    #: Share of the reference population with a larger value (a lower bound, to 1 point).
    above: float | None = None
    #: The value as a multiple of the customer's own usual level (e.g. their overdue ratio).
    usual: float | None = None


NO_CONTEXT = Context()


@dataclass(frozen=True)
class Entry:
    """One dictionary row, hashable so that its renderer is built once."""

    name: str
    meaning: str
    unit: str
    family: str
    source: str
    window_days: int | None


def parse_entry(row: Mapping[str, object] | pd.Series) -> Entry:
    """One row of the feature dictionary (``bundle.dictionary(settings)``) as an :class:`Entry`."""
    missing = [c for c in ENTRY_COLUMNS if c not in row]
    if missing:
        raise ValueError(f"a feature dictionary row needs {missing}; pass bundle.dictionary(…)")
    window = row["window_days"]
    return Entry(
        name=str(row["name"]),
        meaning=str(row["meaning"]),
        unit=str(row["unit"]),
        family=str(row["family"]),
        source=str(row["source"]),
        window_days=None if window is None or pd.isna(window) else int(str(window)),
    )


# --- words from the dictionary ------------------------------------------------------------------

_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_SUBJECT_END = re.compile(r" in \[| before as_of| over |[,:;.]")
_QUOTED_EVENTS = re.compile(r"'([^']+)' events?")
_QUOTED = re.compile(r"'([^']+)'")
_WINDOW = re.compile(r"as_of − (\d+) days")
_WEEKS = re.compile(r"last (\d+) weeks")
_TREND = re.compile(r"^Change in (?P<subject>.+?) from ")
_SLOPE = re.compile(r"slope of weekly (?P<subject>.+?) over ")
_SHARE = re.compile(r"^(?P<part>.+?) as a share of (?P<whole>.+?)(?: in \[| before as_of|[,;.]|$)")
# A share over only the records old enough to judge: "…, among offers at least 30 days old".
_OLD_ENOUGH = re.compile(r"among (?P<what>\w+) at least (?P<days>\d+) days old")
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


def plain_terms(text: str) -> str:
    """``text`` with the technical terms of :data:`PLAIN_TERMS` in plain words."""
    for term, plain in PLAIN_TERMS:
        text = term.sub(plain, text)
    return text


def _subject(meaning: str, *, words: bool = True) -> str:
    """The thing measured: "Net spend (orders minus refunds) in […" gives "net spend".

    ``words=False`` keeps quoted identifiers as written ("'app_open' events").
    """
    text = _PARENTHESES.sub("", meaning)
    text = _SUBJECT_END.split(text, maxsplit=1)[0].strip()
    text = text.replace("the customer's", "their").replace(" to the customer", " to them")
    return _lower(_events(text) if words else text)


def _window(entry: Entry) -> int | None:
    if entry.window_days is not None:
        return entry.window_days
    found = _WINDOW.search(entry.meaning)
    return int(found[1]) if found else None


def _span(entry: Entry) -> str:
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


def _missing_windowed(entry: Entry) -> str | None:
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
def renderer(entry: Entry) -> Render:
    """The sentence rule for ``entry``: all parsing of its meaning happens here, once."""
    build = next((b for applies, b in _RULES if applies(entry)), _fallback)
    return build(entry)


def _category(entry: Entry) -> Render:
    quoted = _QUOTED.search(entry.meaning)
    what = _upper(_humanise(quoted[1] if quoted else entry.name.removeprefix("attr_")))

    def render(value: float | str | None, context: Context) -> str:
        return f"{what} unknown" if value is None else f"{what} is {value}"

    return render


def _month(entry: Entry) -> Render:
    def render(value: float | str | None, context: Context) -> str:
        if isinstance(value, float) and 1 <= value <= 12:
            return f"Time of year: {_MONTHS[round(value) - 1]}"
        return "Time of year unknown"

    return render


def _model_output(entry: Entry) -> Render:
    """Inputs made by another model (BG/NBD): its meaning in plain words, then the value."""
    meaning = plain_terms(entry.meaning.rstrip("."))
    show = {"probability": _percent, "currency": _money}.get(entry.unit, _number)

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return f"{meaning}: no estimate (no orders yet)"
        return f"{meaning}: {show(value)}{_population(context, 'higher', 'lower')}"

    return render


def _trend(entry: Entry) -> Render:
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


def _slope(entry: Entry) -> Render:
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


def _divided(entry: Entry) -> Render:
    """A ratio defined as "A divided by B": read it as "A is 3.1× B"."""
    found = _DIVIDED.match(entry.meaning)
    assert found is not None  # chosen by renderer for this match
    top = _upper(found["top"].replace("the customer's", "their"))
    bottom = found["bottom"].replace("the customer's", "their")

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return f"{_upper(bottom)} is unknown"
        return f"{top} is {_multiple(value)} {bottom}{_population(context, 'higher', 'lower')}"

    return render


def _days_rule(entry: Entry) -> Render:
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
    own = OWN_USUAL.get(entry.family)

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


def _gap(entry: Entry) -> Render:
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


def _currency(entry: Entry) -> Render:
    subject = _upper(_subject(entry.meaning))
    span = _span(entry)
    missing = _missing_windowed(entry) or f"{subject}{span}: none"

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return missing
        return f"{subject}{span}: {_money(value)}{_population(context, 'higher', 'lower')}"

    return render


def _share(entry: Entry) -> Render:
    found = _SHARE.match(entry.meaning)
    if found:
        head = f"{_upper(_events(found['part']))}: {{}} of {found['whole']}{_span(entry)}"
    else:
        head = f"{_upper(_subject(entry.meaning))}{_span(entry)}: {{}}"
    old_enough = _OLD_ENOUGH.search(entry.meaning)
    if old_enough:
        # Empty also when there are records, but none old enough yet.
        what = _SOURCE_NOUN.get(entry.source, old_enough["what"])
        missing = f"No {_singular(what)} at least {old_enough['days']} days old yet"
    else:
        missing = _missing_windowed(entry) or head.format("unknown")

    def render(value: float | str | None, context: Context) -> str:
        if not isinstance(value, float):
            return missing
        return head.format(_percent(value)) + _population(context, "higher", "lower")

    return render


def _count(entry: Entry) -> Render:
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


def _fallback(entry: Entry) -> Render:
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


def _is_trend(entry: Entry) -> bool:
    return entry.unit == "ratio" and _TREND.match(entry.meaning) is not None


def _is_quotient(entry: Entry) -> bool:
    return entry.unit == "ratio" and _DIVIDED.match(entry.meaning) is not None


def _counts_its_unit(entry: Entry) -> bool:
    """The unit names the thing counted (orders, events, offers, categories, …)."""
    return entry.unit in _subject(entry.meaning, words=False).split(" ")


# --- names: what a feature measures, for a list's most common reasons --------------------------

_MODEL_BY = re.compile(r",? (?:from|by) a purchase-pattern model")
_HORIZON = re.compile(r" in (?:the horizon|the next \d+ days)")
_GAP_NAMES = {
    "mean": "usual gap between orders",
    "std": "variation in the gaps between orders",
    "max": "longest gap between orders",
    "last": "gap between the last two orders",
}


@lru_cache(maxsize=4096)
def plain_name(entry: Entry) -> str:
    """What ``entry`` measures, in the sentences' words, lower case and without column names.

    "time since last order", "sessions in the last 90 days", "expected orders (purchase-pattern
    model)": the name of a reason in a list's summary.
    """
    name = next((n for applies, n in _NAMES if applies(entry)), _subject_name)
    return name(entry)


def _category_name(entry: Entry) -> str:
    quoted = _QUOTED.search(entry.meaning)
    return _humanise(quoted[1] if quoted else entry.name.removeprefix("attr_"))


def _model_name(entry: Entry) -> str:
    """A model's output: "Orders expected … by the BG/NBD model" is "expected orders (…)"."""
    text = _HORIZON.sub("", _MODEL_BY.sub("", plain_terms(entry.meaning.rstrip("."))))
    if found := re.fullmatch(r"(\w+) expected", text):
        text = f"expected {found[1].lower()}"
    elif found := re.fullmatch(r"Probability the customer is (.+)", text):
        text = f"chance they are {found[1]}"
    return f"{_lower(text)} (purchase-pattern model)"


def _gap_name(entry: Entry) -> str:
    stat = entry.family.removeprefix("gap_").removesuffix("_days")
    return _GAP_NAMES.get(stat) or _subject(entry.meaning)


def _slope_name(entry: Entry) -> str:
    found, weeks = _SLOPE.search(entry.meaning), _WEEKS.search(entry.meaning)
    subject = _events(found["subject"]) if found else _subject(entry.meaning)
    return f"weekly trend in {subject}" + (f" over the last {weeks[1]} weeks" if weeks else "")


def _trend_name(entry: Entry) -> str:
    found = _TREND.match(entry.meaning)
    assert found is not None  # chosen by plain_name for this match
    window = _window(entry)
    span = f", last {window} days vs the {window} before" if window else ""
    return f"change in {_lower(_events(found['subject']))}{span}"


def _quotient_name(entry: Entry) -> str:
    found = _DIVIDED.match(entry.meaning)
    assert found is not None  # chosen by plain_name for this match
    top, bottom = (found[k].replace("the customer's", "their") for k in ("top", "bottom"))
    return f"{_lower(top)} relative to {bottom}"


def _days_name(entry: Entry) -> str:
    found = _DAYS_FROM.match(entry.meaning)
    if found is None:
        return _subject(entry.meaning)
    noun = found["noun"]
    noun = _events(noun).removesuffix(" event") if "'" in noun else noun
    which = {"most recent": "last ", "first": "first "}.get((found["which"] or "").strip(), "")
    return f"time since {which}{noun.removesuffix(' date')}"


def _subject_name(entry: Entry) -> str:
    return _subject(entry.meaning) + _span(entry)


#: The names in order of precedence, as :data:`_RULES` for sentences; else the meaning's subject.
_NAMES: tuple[tuple[Callable[[Entry], bool], Callable[[Entry], str]], ...] = (
    (lambda e: e.unit == "category", _category_name),
    (lambda e: e.family == "btyd", _model_name),
    (lambda e: e.unit == "month", lambda e: "time of year"),
    (lambda e: e.family.startswith("tenure"), lambda e: "time as a customer"),
    (lambda e: e.family.startswith("gap_"), _gap_name),
    (lambda e: e.unit.endswith("/week²"), _slope_name),
    (_is_trend, _trend_name),
    (_is_quotient, _quotient_name),
    (lambda e: e.unit == "days", _days_name),
)


#: The rules in order of precedence; the first that applies builds the renderer.
_RULES: tuple[tuple[Callable[[Entry], bool], Callable[[Entry], Render]], ...] = (
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


__all__ = [
    "ENTRY_COLUMNS",
    "NO_CONTEXT",
    "OWN_USUAL",
    "PLAIN_TERMS",
    "Context",
    "Entry",
    "Render",
    "parse_entry",
    "plain_name",
    "plain_terms",
    "renderer",
]
