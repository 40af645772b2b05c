"""Nodes of the modeling pipeline on the synthetic table of conftest.py and on hand-made
test scores."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pyspark.ml.feature import Imputer
from pyspark.sql import functions as F

from sparkify_kedro import evaluation
from sparkify_kedro.pipelines.modeling.measurement import evaluate_models
from sparkify_kedro.pipelines.modeling.nodes import (
    TEST_SCORE_COLUMNS,
    evaluate_baselines,
    prepare_training_sets,
    select_feature_columns,
    tune_and_evaluate,
)
from sparkify_kedro.pipelines.modeling.rolling_origin import (
    at_cutoffs,
    fitting_partitions,
    origin_rows,
    plan_rolling_origin,
    prepare_modeling_rows,
)
from sparkify_kedro.pipelines.modeling.selection import (
    collect_model_results,
    collect_test_scores,
    select_best_model,
)
from tests.pipelines.modeling.conftest import (
    CUTOFFS,
    FAST_ALGORITHMS,
    FAST_CROSS_VALIDATION,
    FEATURE_COLUMNS,
    MODEL_INPUT_SCHEMA,
    QUERY_EXECUTION,
    synthetic_rows,
)

EVALUATION = {"bootstrap_resamples": 200, "confidence": 0.95, "seed": 1}
TASK = {"mode": "snapshot", "observation_days": 14, "trend_days": 7, "horizon_days": 14}
FEATURE_PARAMS = {"feature_groups": {"g": ["x"]}, "categorical_features": []}


@pytest.fixture(scope="module")
def plan(model_input_table):
    # weekly cutoffs 10-22 .. 11-12, a 7-day horizon, the last two cutoffs tested
    return plan_rolling_origin(model_input_table, horizon_days=7, test_cutoffs=2)


@pytest.fixture(scope="module")
def modeling_rows(model_input_table, plan):
    return prepare_modeling_rows(
        model_input_table, plan, FAST_CROSS_VALIDATION["num_folds"], {"partitions": 1}
    )


def test_the_plan_trains_each_origin_on_cutoffs_whose_horizon_ends_by_it(plan):
    iso = [cutoff.isoformat() for cutoff in CUTOFFS]  # 10-22, 10-29, 11-05, 11-12
    assert plan["test_cutoffs"] == iso[2:]
    assert (
        [origin["train_cutoffs"] for origin in plan["origins"]]
        == [
            iso[:2],  # 10-29 + 7 days = 11-05: its horizon ends on the test cutoff
            iso[:3],
        ]
    )
    assert plan["tuning_cutoffs"] == iso[:2]  # the earliest origin's: never test rows
    assert (plan["n_tuning"], plan["n_test"]) == (160, 160)
    assert [origin["n_train"] for origin in plan["origins"]] == [160, 240]


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
    plan = plan_rolling_origin(table, horizon_days=14, test_cutoffs=3)
    for origin in plan["origins"]:
        test_cutoff = datetime.fromisoformat(origin["test_cutoff"])
        train = [datetime.fromisoformat(cutoff) for cutoff in origin["train_cutoffs"]]
        assert max(train) == test_cutoff - timedelta(days=14)  # the horizon ends on it
    assert plan["test_cutoffs"][-1] == "2018-10-30T00:00:00"
    with pytest.raises(ValueError, match="Lower modeling.evaluation.test_cutoffs"):
        plan_rolling_origin(table, horizon_days=14, test_cutoffs=17)


@pytest.mark.parametrize("label", [0, 1])
def test_tuning_rows_of_one_class_stop_with_a_clear_error(spark, label):
    rows = [
        (user, cutoff, label, *rest) for user, cutoff, _, *rest in synthetic_rows(5)
    ]
    table = spark.createDataFrame(rows, MODEL_INPUT_SCHEMA)
    with pytest.raises(ValueError, match="both classes are needed"):
        plan_rolling_origin(table, horizon_days=7, test_cutoffs=2)


def test_the_plan_counts_every_planned_row(plan):
    assert plan["n_rows"] == 320  # 4 cutoffs x 80 users (synthetic_rows)


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
        model_input_table, plan, 2, {"rows_per_partition": per_partition}
    )
    try:
        assert rows.rdd.getNumPartitions() == 3
    finally:
        rows.unpersist()


@pytest.fixture(scope="module")
def training_sets(modeling_rows, plan):
    return prepare_training_sets(
        modeling_rows, plan, FEATURE_COLUMNS, FAST_CROSS_VALIDATION, QUERY_EXECUTION
    )


def test_origin_rows_hold_their_cutoffs_with_balanced_weights(modeling_rows, plan):
    rows, fitting = origin_rows(modeling_rows, plan["origins"][1])
    train, test = rows.where(fitting), rows.where(~fitting)
    assert {row.cutoff for row in train.select("cutoff").distinct().collect()} == set(
        CUTOFFS[:3]
    )
    assert {row.cutoff for row in test.select("cutoff").distinct().collect()} == {
        CUTOFFS[3]
    }
    totals = dict(
        train.groupBy("label").agg(F.sum("class_weight")).collect()  # type: ignore[arg-type]
    )
    assert totals[0] == pytest.approx(totals[1])
    per_user = modeling_rows.groupBy("user_id").agg(
        F.countDistinct("cv_fold").alias("n")
    )
    assert per_user.where("n > 1").count() == 0  # a user's rows share a fold


def _keys(frame) -> set[tuple]:
    return {
        (row.user_id, row.cutoff) for row in frame.select("user_id", "cutoff").collect()
    }


def test_each_training_set_fits_on_its_rows_and_scores_the_others(
    modeling_rows, plan, training_sets
):
    folds, origins = training_sets["folds"], training_sets["origins"]
    assert len(folds) == FAST_CROSS_VALIDATION["num_folds"]
    assert len(origins) == len(plan["origins"])
    tuning = at_cutoffs(modeling_rows, plan["tuning_cutoffs"])
    for fold, fold_set in enumerate(folds):
        assert _keys(fold_set.fitting_rows()) == _keys(
            tuning.where(f"cv_fold != {fold}")
        )
        assert _keys(fold_set.scored_rows()) == _keys(tuning.where(f"cv_fold = {fold}"))
    for origin, origin_set in zip(plan["origins"], origins, strict=True):
        train = at_cutoffs(modeling_rows, origin["train_cutoffs"])
        test = at_cutoffs(modeling_rows, [origin["test_cutoff"]])
        assert _keys(origin_set.fitting_rows()) == _keys(train)
        assert _keys(origin_set.scored_rows()) == _keys(test)
    assert origins[0].fitting_rows().count() == plan["n_tuning"]


def test_a_training_sets_preprocessing_learns_from_its_fitting_rows_only(
    training_sets,
):
    # the imputer's median of `sessions` (missing in some rows) is the fitting rows' own
    for training_set in [*training_sets["folds"], *training_sets["origins"]]:
        own = Imputer(inputCols=["sessions"], outputCols=["imputed"], strategy="median")
        expected = own.fit(training_set.fitting_rows()).surrogateDF.first()["sessions"]
        imputer = training_set.preprocessing.stages[0]
        assert imputer.surrogateDF.first()["sessions"] == expected


@pytest.mark.parametrize("algorithm", sorted(FAST_ALGORITHMS))
def test_every_algorithm_separates_every_test_origin(training_sets, plan, algorithm):
    result, scores = tune_and_evaluate(
        training_sets,
        plan,
        FEATURE_COLUMNS,
        FAST_ALGORITHMS[algorithm],
        cross_validation=FAST_CROSS_VALIDATION,
        query_execution=QUERY_EXECUTION,
    )
    assert result["cv_auc_pr"] > 0.85
    assert result["tuning_cutoffs"] == plan["tuning_cutoffs"]
    assert 0.0 <= result["threshold"] <= 1.0
    assert len(scores) == 160 and set(scores["cutoff"]) == set(CUTOFFS[2:])
    assert scores["algorithm"].unique().tolist() == [
        FAST_ALGORITHMS[algorithm]["estimator"]
    ]
    for _, origin in scores.groupby("cutoff"):
        assert evaluation.auc_roc(origin["label"], origin["score"]) > 0.95
    assert (scores["prediction"] == (scores["score"] >= result["threshold"])).all()
    weights = {weight["feature"] for weight in result["feature_weights"]}
    assert {"signal", "noise", "sessions"} <= weights
    assert any(name.startswith("level_at_cutoff=") for name in weights)
    if algorithm in ("gbt", "random_forest"):
        top = max(result["feature_weights"], key=lambda weight: weight["value"])
        assert top["feature"] == "signal"


def test_baselines_use_each_origins_training_median(modeling_rows, plan):
    descriptions, scores = evaluate_baselines(modeling_rows, plan, "signal")
    medians = descriptions[1]["estimator_params"]["above_training_median"]
    for origin in plan["origins"]:
        train = at_cutoffs(modeling_rows, origin["train_cutoffs"])
        assert (
            medians[origin["test_cutoff"]]
            == train.approxQuantile("signal", [0.5], 0.0)[0]
        )
    rule = scores[scores["algorithm"] == "one_rule"]
    never = scores[scores["algorithm"] == "always_no_churn"]
    assert len(rule) == len(never) == 160
    assert (never["score"] == 0).all() and (never["prediction"] == 0).all()
    churners = rule[rule["label"] == 1]
    assert (churners["prediction"] == 1).all()  # every signal > 0.7 is above the median
    assert evaluation.auc_roc(rule["label"], rule["score"]) == pytest.approx(1.0)


def test_feature_columns_of_a_feature_set():
    groups = {"engagement": ["songs", "sessions"], "profile": ["gender", "songs"]}
    columns = select_feature_columns(groups, ["gender"], ["engagement", "profile"])
    assert columns == {"numeric": ["songs", "sessions"], "categorical": ["gender"]}
    with pytest.raises(ValueError, match="Unknown feature groups"):
        select_feature_columns(groups, [], ["trend"])


# ---------------------------------------------------------- choice and test figures
N_USERS = 120
_rng = np.random.default_rng(5)
LABELS = (_rng.random(2 * N_USERS) < 0.3).astype(int)
NOISE = _rng.random(2 * N_USERS)


def _scores(algorithm: str, feature_set: str, score: np.ndarray) -> pd.DataFrame:
    """Test scores of one model on 120 users x 2 test cutoffs."""
    return pd.DataFrame(
        {
            "feature_set": feature_set,
            "algorithm": algorithm,
            "user_id": [f"u{k % N_USERS}" for k in range(2 * N_USERS)],
            "cutoff": [CUTOFFS[2 + k // N_USERS] for k in range(2 * N_USERS)],
            "label": LABELS,
            "score": score,
            "prediction": (score >= 0.5).astype(int),
        }
    )


def _result(algorithm: str, cv_auc_pr: float) -> dict:
    return {
        "algorithm": algorithm,
        "estimator_params": {"maxDepth": 2},
        "feature_columns": FEATURE_COLUMNS,
        "cv_auc_pr": cv_auc_pr,
        "tuning_cutoffs": ["2018-10-22T00:00:00"],
        "threshold": 0.5,
        "feature_weights": [],
    }


BASELINES = [
    {"algorithm": "always_no_churn", "estimator_params": {}, "threshold": None},
    {"algorithm": "one_rule", "estimator_params": {"feature": "x"}, "threshold": 0.5},
]


def _evaluate(model_scores: dict, cv: dict, one_rule: np.ndarray):
    results = {"small": [_result(name, cv[name]) for name in model_scores]}
    choice = select_best_model(results, TASK, FEATURE_PARAMS)
    test_scores = pd.concat(
        [
            _scores("always_no_churn", "baseline", np.zeros(2 * N_USERS)),
            _scores("one_rule", "baseline", one_rule),
            *[_scores(name, "small", score) for name, score in model_scores.items()],
        ],
        ignore_index=True,
    )
    split = {"test_cutoffs": [cutoff.isoformat() for cutoff in CUTOFFS[2:]]}
    metrics, per_cutoff, comparison, info = evaluate_models(
        test_scores, results, BASELINES, choice, split, EVALUATION
    )
    assert (
        info["name"] == choice["name"] and info["test_cutoffs"] == split["test_cutoffs"]
    )
    chosen = metrics[metrics["chosen"]].iloc[0]
    assert info["test_metrics"]["auc_pr_low"] == chosen["auc_pr_low"]
    assert info["best_beats_baselines"] == comparison["best_beats_baselines"]
    # the windows and features the model was trained with, frozen for scoring
    assert (info["churn_task"], info["feature_params"]) == (TASK, FEATURE_PARAMS)
    return choice, (metrics, per_cutoff, comparison)


def test_the_choice_is_the_best_on_validation_not_on_test():
    perfect = LABELS + 0.5 * NOISE  # separates the test rows perfectly
    choice, (metrics, per_cutoff, comparison) = _evaluate(
        {"GBTClassifier": NOISE, "LogisticRegression": perfect},
        cv={"GBTClassifier": 0.9, "LogisticRegression": 0.3},
        one_rule=NOISE,
    )
    assert choice["name"] == "GBTClassifier/small"
    assert choice["chosen_by"]["metric"] == "cv_auc_pr"
    assert choice["runner_up"]["name"] == "LogisticRegression/small"
    by_name = metrics.set_index("algorithm")
    assert by_name.loc["LogisticRegression", "auc_pr"] == pytest.approx(1.0)
    assert by_name.loc["GBTClassifier", "auc_pr"] < 0.6
    assert metrics["chosen"].tolist() == [True, False, False, False]
    assert metrics["validation_rank"].tolist()[:2] == [1, 2]
    assert metrics["selected_by"].str.startswith("cv_auc_pr").tolist()[:2] == [
        True,
        True,
    ]
    assert metrics["selected_by"].str.startswith("none").tolist()[2:] == [True, True]
    # the chosen model is worse than the runner-up on test, and the intervals say so
    runner_up = comparison["paired_differences"][0]
    assert runner_up["other"] == "LogisticRegression/small" and runner_up["high"] < 0
    assert not comparison["best_beats_runner_up"]
    assert not comparison["best_beats_baselines"]
    assert set(per_cutoff["test_cutoff"]) == {
        CUTOFFS[2].isoformat(),
        CUTOFFS[3].isoformat(),
        "pooled",
    }


def test_point_figures_lie_inside_their_intervals():
    _, (metrics, per_cutoff, _) = _evaluate(
        {"GBTClassifier": LABELS * 0.3 + NOISE},
        cv={"GBTClassifier": 0.5},
        one_rule=NOISE,
    )
    for table in (metrics, per_cutoff):
        rows = table.dropna(subset=["auc_pr"])
        assert (rows["auc_pr_low"] <= rows["auc_pr"] + 1e-12).all()
        assert (rows["auc_pr"] <= rows["auc_pr_high"] + 1e-12).all()
    pooled = per_cutoff[per_cutoff["test_cutoff"] == "pooled"].set_index("model")
    assert pooled.loc["GBTClassifier/small", "auc_pr"] == pytest.approx(
        metrics.set_index("algorithm").loc["GBTClassifier", "auc_pr"]
    )


def test_each_model_is_read_on_the_same_rows_whatever_their_order_in_the_table():
    scores = {"GBTClassifier": LABELS * 0.3 + NOISE, "LogisticRegression": NOISE}
    results = {"small": [_result(name, 0.5) for name in scores]}
    choice = select_best_model(results, TASK, FEATURE_PARAMS)
    frames = [
        _scores("always_no_churn", "baseline", np.zeros(2 * N_USERS)),
        _scores("one_rule", "baseline", NOISE),
        *[_scores(name, "small", score) for name, score in scores.items()],
    ]
    split = {"test_cutoffs": [cutoff.isoformat() for cutoff in CUTOFFS[2:]]}

    def metrics_of(table: pd.DataFrame) -> pd.DataFrame:
        return evaluate_models(table, results, BASELINES, choice, split, EVALUATION)[0]

    in_order = metrics_of(pd.concat(frames, ignore_index=True))
    shuffled = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(metrics_of(shuffled), in_order)
    # a model that scored a user the others did not score is an error, not a misalignment
    other_rows = frames[-1].assign(user_id=frames[-1]["user_id"].replace("u0", "u999"))
    with pytest.raises(ValueError, match="scored other test rows"):
        metrics_of(pd.concat([*frames[:-1], other_rows], ignore_index=True))


def test_best_beats_the_baselines_only_when_every_paired_interval_excludes_zero():
    # the chosen model scores exactly as the one rule: their paired interval is [0, 0]
    _, (_, _, tied) = _evaluate(
        {"GBTClassifier": NOISE}, cv={"GBTClassifier": 0.5}, one_rule=NOISE
    )
    against_rule = tied["paired_differences"][1]
    assert against_rule["other"] == "baseline/one_rule"
    assert (against_rule["low"], against_rule["high"]) == (0.0, 0.0)
    assert not against_rule["excludes_zero"]
    assert not tied["best_beats_baselines"]
    # a perfect model against a random rule and the constant: both intervals above 0
    _, (_, _, clear) = _evaluate(
        {"GBTClassifier": LABELS + 0.5 * NOISE},
        cv={"GBTClassifier": 0.5},
        one_rule=NOISE,
    )
    assert [entry["against"] for entry in clear["paired_differences"]] == [
        "baseline"
    ] * 2
    assert all(entry["low"] > 0 for entry in clear["paired_differences"])
    assert clear["best_beats_baselines"]


def test_results_and_test_scores_are_collected_by_feature_set():
    gbt, svc, lr = (_result(name, 0.5) for name in ("GBT", "SVC", "LR"))
    grouped = collect_model_results(
        engagement_experience__gbt=gbt,
        engagement_experience__linear_svc=svc,
        all__lr=lr,
    )
    assert grouped == {"engagement_experience": [gbt, svc], "all": [lr]}
    with pytest.raises(ValueError, match="not named <feature_set>__<algorithm>"):
        collect_model_results(gbt=gbt)
    baseline = _scores("one_rule", "baseline", NOISE).drop(columns="feature_set")
    model = _scores("GBTClassifier", "x", NOISE).drop(columns="feature_set")
    # a frame's own column order does not matter: columns are matched by name
    table = collect_test_scores(baseline, all__gbt=model[model.columns[::-1]])
    assert table.columns.tolist() == ["feature_set", "algorithm", *TEST_SCORE_COLUMNS]
    pd.testing.assert_frame_equal(
        table[table["feature_set"] == "all"].drop(columns="feature_set"),
        model[["algorithm", *TEST_SCORE_COLUMNS]].set_axis(range(240, 480)),
    )
    assert table.groupby("feature_set").size().to_dict() == {
        "all": 240,
        "baseline": 240,
    }
