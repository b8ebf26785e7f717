"""The feature dictionary: name, meaning, window and unit of every feature, from the code.

Each row comes from a feature family's name template and docstring (``features.definitions``),
so the dictionary cannot drift from what the builder computes.
"""

from __future__ import annotations

import pandas as pd

from winback.features.builder import FeaturePlan
from winback.features.definitions import FAMILIES, Feature
from winback.features.settings import FeatureSettings

#: ``risk_when``: ``high`` or ``low`` where the definition says which values signal churn risk
#: (see :data:`features.definitions.Risk`), else empty.
DICTIONARY_COLUMNS = ("name", "meaning", "window_days", "unit", "family", "source", "risk_when")


def describe_features(settings: FeatureSettings, plan: FeaturePlan | None = None) -> pd.DataFrame:
    """The dictionary for a concrete plan, or for every family with ``<event>`` placeholders."""
    if plan is not None:
        features: list[Feature] = list(plan.features)
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
        (f.name, f.meaning, f.window_days, f.unit, f.family, f.source, f.risk or "")
        for f in features
    ] + [
        (col, f"Customer attribute '{raw}' from the customers table, as a category.", None,
         "category", "attr_<name>", "customers", "")
        for col, raw in attributes
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))
    frame["window_days"] = frame["window_days"].astype("Int64")
    return frame


__all__ = ["DICTIONARY_COLUMNS", "describe_features"]
