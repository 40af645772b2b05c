"""Spark nodes of the modeling pipeline on the synthetic table of conftest.py: the plan,
the origins' training sets, the baselines, the race of the candidates and the refit."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from pyspark.ml.feature import Imputer
from pyspark.sql import functions as F

from sparkify_kedro import evaluation
from sparkify_kedro.datasets import SparkMLModelDataset
from sparkify_kedro.estimators import churn_probability
from sparkify_kedro.pipelines.modeling.deployment import (
    build_feature_weights,
    refit_best_model,
)
from sparkify_kedro.pipelines.modeling.nodes import (
    list_candidates,
    prepare_origin_sets,
    race_candidates,
    score_baselines,
    select_feature_sets,
    survivors,
)
from sparkify_kedro.pipelines.modeling.rolling_origin import (
    at_cutoffs,
    origin_rows,
    plan_rolling_origin,
    prepare_modeling_rows,
)
from sparkify_kedro.spark_tuning import fitting_partitions
from tests.pipelines.modeling.conftest import (
    CUTOFFS,
    FAST_ALGORITHMS,
    FEATURE_COLUMNS,
    MODEL_INPUT_SCHEMA,
    QUERY_EXECUTION,
    synthetic_rows,
)

ORDER = ["one_rule", "always_no_churn", *FAST_ALGORITHMS]
ISO = [cutoff.isoformat() for cutoff in CUTOFFS]  # 10-22, 10-29, 11-05, 11-12


@pytest.fixture(scope="module")
def plan(model_input_table):
    # weekly cutoffs 10-22 .. 11-12 and a 7-day horizon: 10-29, 11-05, 11-12 are origins
    return plan_rolling_origin(model_input_table, horizon_days=7, max_origins=None)


@pytest.fixture(scope="module")
def modeling_rows(model_input_table, plan):
    return prepare_modeling_rows(model_input_table, plan, {"partitions": 1})


def test_every_cutoff_with_ended_horizons_before_it_is_an_origin(
    plan, model_input_table
):
    assert plan["origin_cutoffs"] == ISO[1:]
    assert plan["test_cutoffs"] == ISO[2:]  # the first origin has no history
    assert (
        [origin["train_cutoffs"] for origin in plan["origins"]]
        == [
            ISO[:1],  # 10-22 + 7 days = 10-29: its horizon ends on the origin
            ISO[:2],
            ISO[:3],
        ]
    )
    assert [origin["n_train"] for origin in plan["origins"]] == [80, 160, 240]
    assert (plan["n_rows"], plan["n_test"]) == (320, 160)
    last_two = plan_rolling_origin(model_input_table, 7, 2)
    assert last_two["origin_cutoffs"] == ISO[2:] and last_two["test_cutoffs"] == ISO[3:]
    assert last_two["cutoffs"] == ISO  # the origins and their training cutoffs


def test_a_longer_horizon_leaves_a_gap_before_each_origin(spark):
    daily = [
        (
            f"u{user}",
            datetime(2018, 10, 1) + timedelta(days=day),
            int((day + user) % 3 == 0),
        )
        for user in range(3)
        for day in range(30)
    ]
    table = spark.createDataFrame(daily, "user_id string, cutoff timestamp, label int")
    plan = plan_rolling_origin(table, horizon_days=14, max_origins=3)
    for origin in plan["origins"]:
        cutoff = datetime.fromisoformat(origin["cutoff"])
        train = [datetime.fromisoformat(c) for c in origin["train_cutoffs"]]
        assert max(train) == cutoff - timedelta(days=14)  # the horizon ends on it
    assert plan["origin_cutoffs"][-1] == "2018-10-30T00:00:00"
    with pytest.raises(ValueError, match="must be >= 2"):
        plan_rolling_origin(table, horizon_days=14, max_origins=1)
    with pytest.raises(ValueError, match="two are needed"):
        plan_rolling_origin(table, horizon_days=29, max_origins=None)


def test_an_origin_whose_training_rows_hold_one_class_is_skipped(spark):
    # no churner before 11-05: 10-29 (trained on 10-22 alone) cannot be an origin
    rows = [
        (user, cutoff, label if cutoff >= CUTOFFS[1] else 0, *rest)
        for user, cutoff, label, *rest in synthetic_rows(20)
    ]
    plan = plan_rolling_origin(spark.createDataFrame(rows, MODEL_INPUT_SCHEMA), 7, None)
    assert plan["origin_cutoffs"] == ISO[2:]
    with pytest.raises(ValueError, match="two are needed"):
        plan_rolling_origin(
            spark.createDataFrame(
                [(u, c, 0, *rest) for u, c, _, *rest in synthetic_rows(5)],
                MODEL_INPUT_SCHEMA,
            ),
            7,
            None,
        )


@pytest.mark.parametrize(
    ("rows", "expected"),
    [(0, 1), (1, 1), (50_000, 1), (50_001, 2), (150_000, 3), (150_001, 4)],
)
def test_fitting_partitions_hold_at_most_rows_per_partition(rows, expected):
    assert fitting_partitions(rows, {"rows_per_partition": 50_000}) == expected
    partitions = fitting_partitions(
        rows, {"rows_per_partition": 50_000, "partitions": None}
    )
    assert partitions == expected
    # the fewest partitions that keep each under the size: one fewer would overflow
    assert rows <= partitions * 50_000
    assert partitions == 1 or rows > (partitions - 1) * 50_000


def test_a_set_number_of_partitions_overrides_the_derivation():
    assert fitting_partitions(10**9, {"rows_per_partition": 10, "partitions": 2}) == 2
    for setting in ({"partitions": 0}, {"rows_per_partition": 0, "partitions": None}):
        with pytest.raises(ValueError, match="must be >= 1"):
            fitting_partitions(100, setting)


def test_the_modeling_rows_sit_in_the_derived_partitions(model_input_table, plan):
    per_partition = plan["n_rows"] // 3 + 1  # 320 rows: three partitions
    rows = prepare_modeling_rows(
        model_input_table, plan, {"rows_per_partition": per_partition}
    )
    try:
        assert rows.rdd.getNumPartitions() == 3
    finally:
        rows.unpersist()


@pytest.fixture(scope="module")
def candidates():
    groups = {"g": [*FEATURE_COLUMNS["numeric"], *FEATURE_COLUMNS["categorical"]]}
    return list_candidates(
        groups,
        FEATURE_COLUMNS["categorical"],
        {"signal_set": ["g"]},
        FAST_ALGORITHMS,
        ORDER,
        "signal",
    )


@pytest.fixture(scope="module")
def origin_sets(modeling_rows, plan, candidates):
    return prepare_origin_sets(modeling_rows, plan, candidates, 2, QUERY_EXECUTION)


def _keys(frame) -> set[tuple]:
    return {
        (row.user_id, row.cutoff) for row in frame.select("user_id", "cutoff").collect()
    }


def test_origin_rows_hold_their_cutoffs_with_balanced_weights(modeling_rows, plan):
    rows, fitting = origin_rows(modeling_rows, plan["origins"][1])
    train, scored = rows.where(fitting), rows.where(~fitting)
    assert {row.cutoff for row in train.select("cutoff").distinct().collect()} == set(
        CUTOFFS[:2]
    )
    assert {row.cutoff for row in scored.select("cutoff").distinct().collect()} == {
        CUTOFFS[2]
    }
    totals = dict(train.groupBy("label").agg(F.sum("class_weight")).collect())  # type: ignore[arg-type]
    assert totals[0] == pytest.approx(totals[1])


def test_each_origin_set_fits_on_its_training_cutoffs_and_scores_its_own(
    modeling_rows, plan, origin_sets
):
    (sets,) = origin_sets.values()
    assert len(sets) == len(plan["origins"])
    for origin, origin_set in zip(plan["origins"], sets, strict=True):
        train = at_cutoffs(modeling_rows, origin["train_cutoffs"])
        assert _keys(origin_set.fitting_rows()) == _keys(train)
        assert _keys(origin_set.scored_rows()) == _keys(
            at_cutoffs(modeling_rows, [origin["cutoff"]])
        )
        # the imputer's median of `sessions` (missing in some rows) is the set's own
        own = Imputer(inputCols=["sessions"], outputCols=["imputed"], strategy="median")
        expected = own.fit(origin_set.fitting_rows()).surrogateDF.first()["sessions"]
        imputer = origin_set.preprocessing.stages[0]
        assert imputer.surrogateDF.first()["sessions"] == expected


def test_candidates_are_listed_simplest_first(candidates):
    names = [candidate["model"] for candidate in candidates]
    assert names == [
        "baseline/one_rule",
        "baseline/always_no_churn",
        "GBTClassifier(maxDepth=2)/signal_set",
        "RandomForestClassifier(maxDepth=3)/signal_set",
        "LogisticRegression(regParam=0.0)/signal_set",
        "LogisticRegression(regParam=0.01)/signal_set",
        "LinearSVC(regParam=0.01)/signal_set",
    ]
    assert [c["simplicity"] for c in candidates] == list(range(len(candidates)))
    lr = candidates[5]
    assert lr["estimator_params"] == {"maxIter": 15, "regParam": 0.01}
    assert lr["feature_columns"] == FEATURE_COLUMNS
    with pytest.raises(ValueError, match="must list each of"):
        list_candidates(
            {"g": ["x"]}, [], {"s": ["g"]}, FAST_ALGORITHMS, ORDER[:-1], "x"
        )


def test_feature_sets_name_their_columns():
    groups = {"engagement": ["songs", "sessions"], "profile": ["gender", "songs"]}
    columns = select_feature_sets(
        groups, ["gender"], {"small": ["engagement"], "big": ["engagement", "profile"]}
    )
    assert columns == {
        "small": {"numeric": ["songs", "sessions"], "categorical": []},
        "big": {"numeric": ["songs", "sessions"], "categorical": ["gender"]},
    }
    with pytest.raises(ValueError, match="unknown feature groups"):
        select_feature_sets(groups, [], {"x": ["trend"]})


def test_the_rule_ranks_by_its_feature_with_missing_values_at_the_training_median(
    spark, plan
):
    rows = [
        ("a", CUTOFFS[0], 1, 0.9),
        ("b", CUTOFFS[0], 0, 0.1),
        ("c", CUTOFFS[0], 0, 0.3),
        ("a", CUTOFFS[1], 1, None),
        ("b", CUTOFFS[1], 0, 0.2),
    ]
    table = spark.createDataFrame(
        rows, "user_id string, cutoff timestamp, label int, signal double"
    )
    tiny_plan = {"origins": [{"cutoff": ISO[1], "train_cutoffs": ISO[:1]}]}
    rule = {"model": "baseline/one_rule", "algorithm": "one_rule"}
    rule["estimator_params"] = {"feature": "signal"}
    scores = score_baselines(table, tiny_plan, [rule]).set_index(["model", "user_id"])
    assert scores.loc[("baseline/one_rule", "a"), "score"] == 0.3  # median of 10-22
    assert scores.loc[("baseline/one_rule", "b"), "score"] == 0.2
    assert (scores.loc["baseline/always_no_churn", "score"] == 0).all()


@pytest.fixture(scope="module")
def race(origin_sets, modeling_rows, plan, candidates):
    baselines = score_baselines(modeling_rows, plan, candidates)
    return race_candidates(
        origin_sets,
        baselines,
        plan,
        candidates,
        {"keep_fraction": 0.5},
        2,
        QUERY_EXECUTION,
    )


def test_the_race_halves_the_candidates_on_the_earlier_origins_only(race, candidates):
    fitted = [c for c in candidates if c["feature_set"] != "baseline"]
    per_origin = race.groupby("cutoff")["model"].unique()
    counts = [
        len(set(per_origin[c]) - {"baseline/one_rule", "baseline/always_no_churn"})
        for c in CUTOFFS[1:]
    ]
    assert counts == [5, 3, 2]  # ceil(5 / 2), ceil(3 / 2)
    alive = fitted
    for k, cutoff in enumerate(CUTOFFS[2:], start=1):
        earlier = race[race["cutoff"] < cutoff]
        alive = survivors(
            alive, earlier[~earlier["model"].str.startswith("baseline")], 0.5
        )
        assert {c["model"] for c in alive} == set(per_origin[cutoff]) - {
            "baseline/one_rule",
            "baseline/always_no_churn",
        }, k
    assert len(race) == (5 + 3 + 2 + 2 * 3) * 80


def test_every_fitted_candidate_separates_the_origins_it_scored(race):
    for (model, _), rows in race.groupby(["model", "cutoff"]):
        if model != "baseline/always_no_churn":
            assert evaluation.auc_roc(rows["label"], rows["score"]) > 0.95, model


def test_a_rule_refitted_ranks_as_the_rule_and_survives_save_and_load(
    model_input_table, candidates, tmp_path
):
    rule = candidates[0]
    choice = {**rule, "name": rule["model"]}
    model = refit_best_model(
        model_input_table, choice, {"partitions": 1}, QUERY_EXECUTION
    )
    dataset = SparkMLModelDataset(filepath=str(tmp_path / "rule"))
    dataset.save(model)
    scored = (
        dataset.load()
        .transform(model_input_table)
        .select("signal", churn_probability().alias("p"))
        .toPandas()
        .sort_values("signal")
    )
    assert scored["p"].is_monotonic_increasing  # the rule's ranking
    assert scored["p"].iloc[0] < 0.3 < scored["p"].iloc[-1]  # a probability of churn
    weights = build_feature_weights(model, choice, model_input_table)
    assert weights[["feature", "kind"]].values.tolist() == [["signal", "coefficient"]]
    assert weights["value"].item() > 0


def test_the_base_rate_refitted_gives_everyone_the_churn_rate(
    model_input_table, candidates
):
    base = candidates[1]
    model = refit_best_model(
        model_input_table,
        {**base, "name": base["model"]},
        {"partitions": 1},
        QUERY_EXECUTION,
    )
    p = model.transform(model_input_table).select(churn_probability().alias("p"))
    rate = model_input_table.agg(F.mean("label")).first()[0]
    values = {round(row.p, 6) for row in p.collect()}
    assert len(values) == 1 and math.isclose(values.pop(), rate, abs_tol=1e-4)


def test_a_classifier_refitted_keeps_its_feature_weights(model_input_table, candidates):
    gbt = candidates[2]
    choice = {**gbt, "name": gbt["model"]}
    model = refit_best_model(
        model_input_table, choice, {"partitions": 1}, QUERY_EXECUTION
    )
    weights = build_feature_weights(model, choice, model_input_table)
    assert set(weights["kind"]) == {"importance"}
    assert weights.sort_values("value")["feature"].iloc[-1] == "signal"
    assert any(name.startswith("level_at_cutoff=") for name in weights["feature"])
