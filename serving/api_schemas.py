"""Request and response bodies of the HTTP API (:mod:`serving.api`), as its OpenAPI docs show."""

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictInt, StrictStr


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _feature_value(value: object) -> float | str | None:
    """A posted feature value: text, null, or a finite number (not a boolean)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = str(value).lower() if isinstance(value, bool) else type(value).__name__
        raise ValueError(f"expected a number, text or null, got {shown}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value}")
    return number


#: JSON numbers as floats (NaN and Infinity refused), text, or null; booleans are refused
#: rather than read as 1 and 0.
FeatureValue = Annotated[
    float | str | None, PlainValidator(_feature_value, json_schema_input_type=float | str | None)
]
#: A finite number, integers included, booleans and text refused.
StrictNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class ScoresRequest(_Body):
    """Customers to score."""

    customer_ids: list[StrictStr | StrictInt] = Field(
        min_length=1,
        description="Customer ids (at most ApiSettings.max_rows); duplicates are scored once.",
        examples=[["C0000001", "C0000042"]],
    )
    as_of: date | None = Field(
        default=None,
        description="Cutoff: features use records strictly before it (default: the day after "
        "the last transaction).",
    )


class FeaturesRequest(_Body):
    """Feature rows to score: each row has exactly the model's feature columns (GET /model)."""

    rows: list[dict[str, FeatureValue]] = Field(
        min_length=1,
        description="One object per row, {feature: value}; null for a missing value. Text for "
        "categorical features, finite numbers for the others (day counts and counts >= 0).",
        examples=[[{"days_since_last_order": 94.0, "orders_90d": 0, "attr_country": "DE"}]],
    )


class ListRequest(_Body):
    """The budget of a win-back list."""

    budget: StrictNumber | None = Field(
        default=None,
        ge=0,
        description="Money for offers (contact cost + expected discounts); null: no limit.",
        examples=[500.0],
    )
    as_of: date | None = Field(default=None, description="Cutoff (default: the latest data).")
    offers: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Offers of the catalog ([policy] offers) the list may use; null: all of them.",
        examples=[["discount_10", "free_shipping"]],
    )
    control_share: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        allow_inf_nan=False,
        description="Share of the list held out as control (no offer); null: [policy] "
        "control_share. The seed is the server's, so the same choices give the same list.",
        examples=[0.1],
    )


class ReloadRequest(_Body):
    """What to reload."""

    data: bool = Field(default=False, description="Also load the data again.")


class ErrorDetail(BaseModel):
    """The error of every failed request."""

    code: str = Field(examples=["unauthorized"])
    message: str = Field(examples=["missing or wrong bearer token"])
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """``{"error": {...}}``."""

    error: ErrorDetail


class ModelRef(BaseModel):
    """Which model answered."""

    name: str = Field(examples=["winback"])
    version: str = Field(examples=["7"])


class Health(BaseModel):
    """The server is up, with this model and data."""

    status: Literal["ok"] = "ok"
    model: ModelRef
    data_end: date = Field(description="The day after the last transaction: the default as_of.")
    model_loaded_at: datetime
    data_loaded_at: datetime


class ModelInfo(BaseModel):
    """The served model: where it came from and what it takes and gives."""

    name: str = Field(examples=["winback"])
    version: str = Field(examples=["7"])
    uri: str = Field(examples=["models:/winback@champion"])
    horizon_days: int = Field(examples=[90])
    periods: int = Field(description="Forecast periods of value (value_period_1 …).")
    features: int = Field(description="Number of feature columns.")
    feature_columns: list[str]
    categorical_levels: dict[str, list[str]] = Field(
        description="Known levels of each categorical feature (others count as missing)."
    )
    prediction_columns: list[str] = Field(description="What POST /score-features returns.")
    output_columns: list[str] = Field(description="Columns of a scores row (POST /scores).")
    loaded_at: datetime


class ReasonOut(BaseModel):
    """One push towards churn."""

    feature: str = Field(examples=["days_since_last_order"])
    value: float | str | None = Field(examples=[94.0])
    contribution: float = Field(description="SHAP value, log-odds of churn.", examples=[0.41])
    sentence: str = Field(examples=["No order for 94 days, about 3× their usual gap"])


class ScoreRow(BaseModel):
    """One customer's scores; ``value_period_1`` … ``value_period_N`` follow the model's periods."""

    model_config = ConfigDict(extra="allow")

    customer_id: str
    as_of: date
    churn_probability: float
    decline_probability: float | None
    expected_orders: float
    expected_spend: float
    clv: float | None
    value_at_risk: float | None
    population: str | None = Field(
        default=None, description="retention (active), winback (lapsed) or no_orders."
    )
    lifecycle_stage: str | None
    value_segment: str | None
    rfm_segment: str | None
    reasons: list[ReasonOut]
    model_name: str
    model_version: str
    scored_at: datetime


class ScoresResponse(BaseModel):
    """Scores of the known customers, in request order, and the ids not known at ``as_of``."""

    as_of: date
    model: ModelRef
    scores: list[ScoreRow]
    unknown_ids: list[str] = Field(description="Ids with no customer known before as_of.")


class Prediction(BaseModel):
    """Predictions for one posted row; ``value_period_*`` follow the model's periods."""

    model_config = ConfigDict(extra="allow")

    row: int = Field(description="Position of the row in the request.")
    churn_probability: float
    decline_probability: float | None
    expected_orders: float
    expected_spend: float
    clv: float | None
    value_at_risk: float | None
    population: str | None = None
    reasons: list[ReasonOut]


class FeaturesResponse(BaseModel):
    """Predictions and reasons of posted feature rows, in request order."""

    model: ModelRef
    predictions: list[Prediction]


class ListRow(BaseModel):
    """One customer on the win-back list."""

    rank: int
    customer_id: str
    action: Literal["retain", "win_back"]
    offer: str
    offer_cost: float
    expected_net_benefit: float
    churn_probability: float
    clv: float | None
    reasons: list[ReasonOut]
    control: bool = Field(description="Held out: gets no offer, measures the effect.")
    reason_text: str
    as_of: date


class TopReason(BaseModel):
    """A reason common on the list."""

    feature: str
    customers: int
    example: str


class ListFigures(BaseModel):
    """What the list is expected to achieve; counts add up to its length."""

    customers: int
    treated: int
    control: int
    by_action_offer: dict[str, int]
    budget_used: float
    expected_margin_saved: float
    expected_net_benefit: float
    top_reasons: list[TopReason]


class ListResponse(BaseModel):
    """The ranked win-back list within the budget, with its summary."""

    as_of: date
    budget: float | None
    model: ModelRef
    figures: ListFigures
    summary: list[str] = Field(description="The summary `winback list` prints.")
    effect_sources: dict[str, str] = Field(description="Offer → 'uplift' or 'assumed'.")
    excluded: dict[str, int] = Field(description="Customers left out before pricing, by reason.")
    notes: list[str] = Field(description="Why offer effects were assumed, where they were.")
    rows: list[ListRow]


class LoadedModel(ModelRef):
    """A model and when it was loaded."""

    uri: str
    loaded_at: datetime


class ReloadResponse(BaseModel):
    """The model before and after the reload."""

    previous: LoadedModel
    current: LoadedModel
    data_reloaded: bool
    data_end: date


__all__ = [
    "ErrorDetail",
    "ErrorResponse",
    "FeaturesRequest",
    "FeaturesResponse",
    "Health",
    "ListFigures",
    "ListRequest",
    "ListResponse",
    "ListRow",
    "LoadedModel",
    "ModelInfo",
    "ModelRef",
    "Prediction",
    "ReasonOut",
    "ReloadRequest",
    "ReloadResponse",
    "ScoreRow",
    "ScoresRequest",
    "ScoresResponse",
    "TopReason",
]
