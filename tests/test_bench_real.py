"""The real-data benchmark's own definitions, on hand-made records (no network, no wheel).

The benchmark's figures are only as good as its labels and its reading of predictions: who counts
as an active subscriber and who cancelled, and how a model's columns become the table's figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench" / "real"))

import holdout_metrics
import subscription

T = pd.Timestamp("2024-03-15")


def _payments(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "period_end"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    frame["amount"] = 10.0
    return frame


def _write_and_read(tmp_path: Path, payments: pd.DataFrame) -> subscription.SubscriptionData:
    payments.to_csv(tmp_path / "payments.csv", index=False)
    usage = pd.DataFrame(
        {"customer_id": ["a"], "timestamp": ["2024-03-01"], "event_type": ["play"]}
    )
    usage.to_csv(tmp_path / "usage.csv", index=False)
    return subscription.read_directory(tmp_path)


def test_cancellations_among_accounts_active_at_the_cutoff(tmp_path: Path) -> None:
    payments = _payments(
        [
            ("lapses", "2024-02-01", None),  # runs to 03-01, + 7 days grace: not active at T
            ("cancels", "2024-03-01", None),  # runs to 04-01 (+ grace 04-08), never renewed
            ("renews", "2024-03-01", None),
            ("renews", "2024-04-01", None),
            ("annual", "2024-01-10", "2025-01-10"),
            ("late", "2024-02-10", None),  # ran out 03-10, within grace at T
            ("late", "2024-03-16", None),  # renewed late: covered at T + 30 days
            ("new", "2024-03-15", None),  # first payment at T: not active before T
        ]
    )
    data = _write_and_read(tmp_path, payments)
    labels = subscription.cancellations(data.payments, T, 30)
    assert labels.to_dict() == {"annual": 0.0, "cancels": 1.0, "late": 0.0, "renews": 0.0}


def test_a_renewal_after_the_horizon_still_counts_as_a_cancellation(tmp_path: Path) -> None:
    payments = _payments([("back", "2024-03-01", None), ("back", "2024-05-20", None)])
    data = _write_and_read(tmp_path, payments.drop(columns="period_end"))
    assert subscription.cancellations(data.payments, T, 30).to_dict() == {"back": 1.0}


def test_missing_columns_and_files_are_refused(tmp_path: Path) -> None:
    pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"]}).to_csv(
        tmp_path / "payments.csv", index=False
    )
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['amount'\]"):
        subscription.read_directory(tmp_path)
    (tmp_path / "payments.csv").unlink()
    with pytest.raises(FileNotFoundError, match="needs payments"):
        subscription.read_directory(tmp_path)


def test_default_cutoff_leaves_a_whole_horizon_of_data_after_it() -> None:
    payments = _payments([("a", "2024-01-05", None), ("a", "2024-06-20", None)])
    assert subscription.default_as_of(payments, 30) == pd.Timestamp("2024-05-01")
    payments.loc[1, "timestamp"] = pd.Timestamp("2024-07-01")
    assert subscription.default_as_of(payments, 30) == pd.Timestamp("2024-06-01")


def _truth() -> pd.DataFrame:
    spend = np.array([0.0, 0.0, 0.0, 10.0, 0.0, 20.0, 0.0, 0.0, 30.0, 940.0])
    index = pd.Index([f"c{i}" for i in range(10)], name="customer_id")
    return pd.DataFrame(
        {"active": (spend > 0).astype(float), "spend": spend, "transactions": (spend > 0) * 1.0},
        index=index,
    )


def test_purchase_metrics_of_a_perfect_and_a_reversed_forecast() -> None:
    truth = _truth()
    perfect = pd.DataFrame(
        {
            "p_active": truth["active"],
            "spend": truth["spend"],
            "transactions": truth["transactions"],
        }
    ).iloc[::-1]  # row order must not matter
    figures = holdout_metrics.purchase_metrics(perfect, truth)
    assert figures["roc_auc"] == 1.0
    assert figures["spend_rmse"] == 0.0
    assert figures["aggregate_error"] == 0.0
    assert figures["top_decile_share"] == pytest.approx(0.94)
    reversed_ = perfect.assign(p_active=1 - perfect["p_active"], spend=-perfect["spend"] + 940)
    worse = holdout_metrics.purchase_metrics(reversed_, truth)
    assert worse["roc_auc"] == 0.0
    assert worse["top_decile_share"] == 0.0
    assert worse["aggregate_error"] == pytest.approx((9400 - 2 * 1000) / 1000)


def test_purchase_metrics_refuse_other_customers() -> None:
    truth = _truth()
    other = pd.DataFrame(
        {"p_active": 0.5, "spend": 1.0, "transactions": 1.0},
        index=pd.Index([f"x{i}" for i in range(10)], name="customer_id"),
    )
    with pytest.raises(ValueError, match="different customers"):
        holdout_metrics.purchase_metrics(other, truth)


def test_top_decile_lift_of_cancellation_risk() -> None:
    cancelled = pd.Series([1.0] + [0.0] * 19, index=[f"a{i}" for i in range(20)])
    risk = pd.Series(np.linspace(1.0, 0.0, 20), index=cancelled.index)
    figures = holdout_metrics.cancellation_metrics(risk, cancelled)
    assert figures["top_decile_lift"] == pytest.approx(10.0)  # top 2 of 20 hold the 1 cancel
    assert figures["base_rate"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="have no score"):
        holdout_metrics.cancellation_metrics(risk.iloc[1:], cancelled)
