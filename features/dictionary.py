"""The feature dictionary: name, meaning, window and unit of every feature, from the code.

Each row comes from a feature family's name template and docstring (``features.definitions``),
so the dictionary cannot drift from what the builder computes.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from winback.features.builder import FeaturePlan
from winback.features.definitions import FAMILIES, Feature, Risk, event_risk, family_of
from winback.features.settings import FeatureSettings

#: ``risk_when``: which values signal churn risk (see :data:`features.definitions.Risk`):
#: ``high``, ``low``, ``never`` (neither side does: never a reason; also a family that declares
#: nothing), or ``level`` for a category, whose level carries its own push either way.
DICTIONARY_COLUMNS = ("name", "meaning", "window_days", "unit", "family", "source", "risk_when")


def describe_features(settings: FeatureSettings, plan: FeaturePlan | None = None) -> pd.DataFrame:
    """The dictionary for a concrete plan, or for every family with ``<event>`` placeholders."""
    if plan is not None:
        features: list[Feature] = [replace(f, risk=_risk(f, plan)) for f in plan.features]
        attributes = list(plan.attributes.items())
    else:
        types = settings.event_types or ("<event>",)
        features = [
            f
            for fam in FAMILIES
            for f in fam.expand(settings.windows_days, types, settings.trend_weeks)
        ]
        attributes = [("attr_<name>", "<name>")]
    rows = [
        (f.name, f.meaning, f.window_days, f.unit, f.family, f.source, f.risk or "never")
        for f in features
    ] + [
        (col, f"Customer attribute '{raw}' from the customers table, as a category.", None,
         "category", "attr_<name>", "customers", "level")
        for col, raw in attributes
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))
    frame["window_days"] = frame["window_days"].astype("Int64")
    return frame


def _risk(feature: Feature, plan: FeaturePlan) -> Risk:
    """The side today's definition gives ``feature``: a saved model's plan may predate it."""
    family = family_of(feature)
    if family is None:
        return feature.risk or "never"
    if not family.per_event_type:
        return family.risk or "never"
    for e in plan.event_types:
        if family.template.format(e=e, w=feature.window_days, n=plan.trend_weeks) == feature.name:
            return event_risk(family.risk, e) or "never"
    return feature.risk or "never"


__all__ = ["DICTIONARY_COLUMNS", "describe_features"]
