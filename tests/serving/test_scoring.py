"""Batch scoring: the contract's columns, determinism, atomic writes, and refusing bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests.serving.conftest import AS_OF, SCORED_AT, TABLES
from winback.common import DataSourceError
from winback.features import load_dataset
from winback.serving.model import ModelLoadError, load_model
from winback.serving.output import write_output
from winback.serving.scoring import SignatureMismatchError, score, score_columns


def test_scores_follow_the_output_contract(scored, small_world) -> None:
    scores, features = scored
    assert list(scores.columns) == score_columns(3)
    assert scores["customer_id"].is_unique and len(scores) == len(features)
    # Every customer known before as_of is scored, no one else.
    signed_up = pd.to_datetime(small_world.customers["signup_date"], utc=True) < pd.Timestamp(
        AS_OF, tz="UTC"
    )
    assert len(scores) >= int(signed_up.sum()) * 0.9
    for column in ("churn_probability", "decline_probability"):
        assert scores[column].between(0, 1).all()
    values = scores[["value_period_1", "value_period_2", "value_period_3"]].to_numpy()
    assert (values >= 0).all()
    np.testing.assert_allclose(
        scores["value_at_risk"], scores["churn_probability"] * scores["clv"].clip(lower=0)
    )
    assert scores["lifecycle_stage"].notna().all()
    buyers = scores["lifecycle_stage"] != "prospect"  # RFM needs an order
    assert scores.loc[buyers, "rfm_segment"].notna().all()
    assert (scores["model_version"] == "local").all()
    assert (scores["as_of"] == pd.Timestamp(AS_OF)).all()
    # Each customer's population: never ordered, active (retention) or lapsed (win-back).
    since = features.set_index("customer_id")["days_since_last_order"]
    population = scores.set_index("customer_id")["population"]
    assert set(population) == {"retention", "winback", "no_orders"}
    assert (population[since.reindex(population.index).isna()] == "no_orders").all()
    assert (population[since.reindex(population.index) > 365] == "winback").all()
    assert (population[since.reindex(population.index) <= 90] == "retention").all()


def test_reasons_are_structured_and_readable(scored) -> None:
    scores, _ = scored
    parsed = [json.loads(r) for r in scores["reasons"]]
    assert all(len(r) <= 3 for r in parsed)
    assert sum(len(r) > 0 for r in parsed) > 0.9 * len(parsed)
    first = next(r for r in parsed if r)[0]
    assert set(first) == {"feature", "value", "contribution", "sentence"}
    assert first["contribution"] > 0 and first["sentence"]
    contributions = [[x["contribution"] for x in r] for r in parsed]
    assert all(c == sorted(c, reverse=True) for c in contributions)


def test_scoring_is_deterministic_and_chunk_size_free(dataset, model, scored, tmp_path) -> None:
    again, _ = score(dataset, model, AS_OF, scored_at=SCORED_AT, chunk_rows=5000)
    pd.testing.assert_frame_equal(again, scored[0], check_exact=True)
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    write_output(scored[0], str(paths[0]))
    write_output(again, str(paths[1]))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    later, _ = score(dataset, model, AS_OF, chunk_rows=5000)  # a real clock
    assert later.drop(columns="scored_at").equals(scored[0].drop(columns="scored_at"))


def test_scoring_in_chunks_holds_only_a_sample_of_features(dataset, model, scored) -> None:
    seen: list[tuple[int, int]] = []
    table, sample = score(
        dataset,
        model,
        AS_OF,
        scored_at=SCORED_AT,
        chunk_rows=450,
        keep_features=False,
        progress=lambda done, total: seen.append((done, total)),
    )
    pd.testing.assert_frame_equal(table, scored[0], check_exact=True)
    total = len(scored[0])
    assert seen == [(min(d, total), total) for d in range(450, total + 450, 450)]
    # Fewer customers than a reason reference samples: the sample is everyone.
    pd.testing.assert_frame_equal(sample, scored[1], check_exact=True)


def test_a_failed_write_leaves_no_partial_file(scored, tmp_path) -> None:
    # The rename onto the target fails after the data was written (the target is a folder).
    target = tmp_path / "scores.parquet"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(OSError):
        write_output(scored[0], str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.parquet"]
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_a_failed_table_write_keeps_the_old_table(scored, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    write_output(scored[0].head(10), url, "scores")
    broken = scored[0].assign(reasons=[{"not": "storable"}] * len(scored[0]))
    with pytest.raises(DataSourceError, match="cannot write table scores"):
        write_output(broken, url, "scores")
    engine = sa.create_engine(url)
    with engine.connect() as con:
        assert con.execute(sa.text("SELECT count(*) FROM scores")).scalar_one() == 10
        assert sa.inspect(con).get_table_names() == ["scores"]
    engine.dispose()


def test_scores_replace_a_database_table_atomically(scored, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    write_output(scored[0].head(10), url, "scores")
    where = write_output(scored[0], url, "scores")
    assert "table scores" in where
    engine = sa.create_engine(url)
    with engine.connect() as con:
        count = con.execute(sa.text("SELECT count(*) FROM scores")).scalar_one()
        tables = sa.inspect(con).get_table_names()
    engine.dispose()
    assert count == len(scored[0]) and tables == ["scores"]
    with pytest.raises(DataSourceError, match="--table"):
        write_output(scored[0], url, None)


def test_data_without_a_table_the_model_needs_is_refused(small_world, model) -> None:
    no_events = load_dataset(
        frames={t: getattr(small_world, t) for t in ("transactions", "customers", "campaigns")}
    )
    with pytest.raises(SignatureMismatchError, match=r"table 'events' \(used by \d+ features"):
        score(no_events, model, AS_OF)


def test_an_attribute_of_another_type_is_refused(small_world, model) -> None:
    customers = small_world.customers.copy()
    column = next(c for c in model.bundle.plan.attributes.values())
    customers[column] = np.arange(len(customers), dtype=float)
    tables = {t: getattr(small_world, t) for t in TABLES} | {"customers": customers}
    with pytest.raises(SignatureMismatchError, match="numeric here, text in training"):
        score(load_dataset(frames=tables), model, AS_OF)


def test_an_unknown_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelLoadError):
        load_model(str(tmp_path / "nothing-here"))
