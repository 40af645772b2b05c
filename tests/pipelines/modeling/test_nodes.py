"""Nodes of the modeling pipeline on the synthetic table of conftest.py."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from pyspark.sql import functions as F

from sparkify_kedro.pipelines.modeling.nodes import (
    build_model_metrics,
    collect_model_results,
    evaluate_baselines,
    prepare_training_rows,
    select_best_model,
    select_best_model_test_curve,
    select_feature_columns,
    split_out_of_time,
    tune_and_evaluate,
)
from tests.pipelines.modeling.conftest import (
    CUTOFFS,
    FAST_ALGORITHMS,
    FAST_CROSS_VALIDATION,
    FEATURE_COLUMNS,
    MODEL_INPUT_SCHEMA,
    synthetic_rows,
)


@pytest.fixture(scope="module")
def split(model_input_table):
    train, test, summary = split_out_of_time(model_input_table, horizon_days=7)
    return (
        prepare_training_rows(train, FAST_CROSS_VALIDATION["num_folds"], 1),
        test,
        summary,
    )


@pytest.mark.parametrize("algorithm", sorted(FAST_ALGORITHMS))
def test_every_algorithm_separates_held_out_rows(split, algorithm):
    train, test, _ = split
    result = tune_and_evaluate(
        train,
        test,
        FEATURE_COLUMNS,
        FAST_ALGORITHMS[algorithm],
        FAST_CROSS_VALIDATION,
        test_curve_points=20,
    )
    assert result["metrics"]["auc_roc"] > 0.95
    assert result["metrics"]["auc_pr"] > 0.85
    assert result["metrics"]["n_rows"] == 80
    assert 0.0 <= result["threshold"] <= 1.0
    assert result["metrics"]["f1"] > 0.7
    weights = {weight["feature"] for weight in result["feature_weights"]}
    assert {"signal", "noise", "sessions"} <= weights
    assert any(name.startswith("level_at_cutoff=") for name in weights)
    if algorithm in ("gbt", "random_forest"):
        top = max(result["feature_weights"], key=lambda weight: weight["value"])
        assert top["feature"] == "signal"
    # The test ranking curve: a starting row, then at most 20 + 1 score steps.
    curve = result["test_curve"]
    assert 2 <= len(curve) <= 22
    assert curve[0]["selected"] == 0
    assert curve[-1]["selected"] == 80
    assert curve[-1]["true_positive_rate"] == 1.0


def test_split_never_lets_a_training_horizon_cross_the_test_cutoff(spark):
    daily = [
        (user, datetime(2018, 10, 1) + timedelta(days=day), (day + user) % 3 == 0)
        for user in range(3)
        for day in range(30)
    ]
    table = spark.createDataFrame(
        [(f"u{user}", cutoff, int(label)) for user, cutoff, label in daily],
        "user_id string, cutoff timestamp, label int",
    )
    train, test, summary = split_out_of_time(table, horizon_days=14)
    test_cutoff = datetime(2018, 10, 30)
    assert {row.cutoff for row in test.collect()} == {test_cutoff}
    train_cutoffs = {row.cutoff for row in train.select("cutoff").distinct().collect()}
    assert max(train_cutoffs) == test_cutoff - timedelta(
        days=14
    )  # the horizon ends on it
    assert all(cutoff + timedelta(days=14) <= test_cutoff for cutoff in train_cutoffs)
    assert summary["n_train"] == 3 * 16 and summary["n_test"] == 3


@pytest.mark.parametrize(
    ("label", "message"), [(0, "no churner"), (1, "no non-churner")]
)
def test_training_rows_of_one_class_stop_with_a_clear_error(spark, label, message):
    rows = [
        (user, cutoff, label, *rest) for user, cutoff, _, *rest in synthetic_rows(5)
    ]
    table = spark.createDataFrame(rows, MODEL_INPUT_SCHEMA)
    with pytest.raises(ValueError, match=f"training rows hold {message}"):
        split_out_of_time(table, horizon_days=7)


def test_feature_columns_of_a_feature_set():
    groups = {"engagement": ["songs", "sessions"], "profile": ["gender", "songs"]}
    columns = select_feature_columns(groups, ["gender"], ["engagement", "profile"])
    assert columns == {"numeric": ["songs", "sessions"], "categorical": ["gender"]}
    with pytest.raises(ValueError, match="Unknown feature groups"):
        select_feature_columns(groups, [], ["trend"])


def test_baselines(split):
    train, test, _ = split
    never, rule = evaluate_baselines(train, test, "signal")
    assert never["metrics"]["auc_roc"] == pytest.approx(0.5)
    assert never["metrics"]["recall"] == 0.0
    median = train.approxQuantile("signal", [0.5], 0.0)[0]
    assert rule["threshold"] == median
    assert rule["metrics"]["recall"] == 1.0  # every signal > 0.7 is above the median
    assert rule["metrics"]["auc_roc"] == pytest.approx(1.0)


def _result(algorithm, auc_pr, cv_auc_pr, test_curve=()):
    metrics = {
        "auc_pr": auc_pr,
        "auc_roc": 0.5,
        "precision": 0.1,
        "recall": 0.2,
        "f1": 0.3,
        "weighted_f1": 0.4,
        "lift_top_decile": 1.5,
        "n_rows": 10,
        "n_churners": 2,
    }
    return {
        "algorithm": algorithm,
        "estimator_params": {"maxDepth": 2},
        "feature_columns": FEATURE_COLUMNS,
        "cv_auc_pr": cv_auc_pr,
        "threshold": 0.4,
        "metrics": metrics,
        "feature_weights": [],
        "test_curve": list(test_curve),
    }


def test_best_model_by_test_auc_pr_then_cv():
    best = select_best_model(
        {
            "small": [
                _result("LinearSVC", math.nan, 0.9),
                _result("GBTClassifier", 0.6, 0.2),
            ],
            "large": [_result("LogisticRegression", 0.6, 0.3)],
        }
    )
    assert best["name"] == "LogisticRegression/large"
    assert best["feature_columns"] == FEATURE_COLUMNS
    assert best["test_metrics"]["auc_pr"] == 0.6


def test_best_model_test_curve_is_the_selected_models_curve():
    def steps(selected):
        return [{"threshold": 0.5, "selected": n} for n in selected]

    curve = select_best_model_test_curve(
        {
            "small": [_result("GBTClassifier", 0.6, 0.2, steps([0, 1]))],
            "large": [_result("LogisticRegression", 0.6, 0.3, steps([0, 2, 3]))],
        }
    )
    assert curve.columns.tolist() == ["threshold", "selected"]
    assert curve["selected"].tolist() == [0, 2, 3]


def test_results_are_grouped_by_feature_set_in_the_order_given():
    gbt, svc, lr = (_result(name, 0.5, 0.5) for name in ("GBT", "SVC", "LR"))
    grouped = collect_model_results(
        engagement_experience__gbt=gbt,
        engagement_experience__linear_svc=svc,
        all__lr=lr,
    )
    assert grouped == {"engagement_experience": [gbt, svc], "all": [lr]}
    with pytest.raises(ValueError, match="not named <feature_set>__<algorithm>"):
        collect_model_results(gbt=gbt)


def test_model_metrics_table_sorted_by_auc_pr():
    baseline = {**_result("always_no_churn", 0.2, None), "feature_set": "baseline"}
    table = build_model_metrics(
        [baseline], {"small": [_result("GBTClassifier", 0.7, 0.5)], "large": []}
    )
    assert table["algorithm"].tolist() == ["GBTClassifier", "always_no_churn"]
    assert table["feature_set"].tolist() == ["small", "baseline"]
    assert table.loc[0, "params"] == '{"maxDepth": 2}'


def test_training_rows_carry_weights_and_user_folds(split):
    train, _, _ = split
    per_user = train.groupBy("user_id").agg(F.countDistinct("cv_fold").alias("folds"))
    assert per_user.where("folds > 1").count() == 0
    totals = {
        row.label: row.total
        for row in train.groupBy("label")
        .agg(F.sum("class_weight").alias("total"))
        .collect()
    }
    assert totals[0] == pytest.approx(totals[1])
    assert len(CUTOFFS) - 1 == train.select("cutoff").distinct().count()
