"""``churn_scores`` on tiny hand-made tables: ranks and risk tiers, calibrated
probabilities, reasons per user, revenue at risk."""

from __future__ import annotations

import math
import random
from datetime import datetime

import pytest
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler

from sparkify_kedro.pipelines.churn_labeling.nodes import determine_log_span
from sparkify_kedro.pipelines.scoring.nodes import (
    CHURN_SCORE_COLUMNS,
    assign_risk_tiers,
    build_scoring_cutoffs,
    churn_scores_table,
    estimate_monthly_value,
    score_users,
)
from tests.pipelines.churn_labeling.event_factory import (
    collect_rows,
    event,
    make_clean_events,
)

TIERS = {
    "tiers": [{"name": "high", "top_share": 0.1}, {"name": "medium", "top_share": 0.3}],
    "default": "low",
}
SCORED_AT = datetime(2018, 12, 4)
INFO = {"name": "GBTClassifier/all"}
#: best_model_info of a model trained with a 4-day observation window.
FROZEN = {
    **INFO,
    "churn_task": {"mode": "snapshot", "observation_days": 4, "trend_days": 2},
    "feature_params": {},
}


def _user_scores(spark, probabilities):
    return spark.createDataFrame(
        [
            (f"u{index:02d}", p, SCORED_AT, f"reason of u{index:02d}", "", "")
            for index, p in enumerate(probabilities)
        ],
        "user_id string, churn_probability double, scored_at timestamp, "
        "reason_1 string, reason_2 string, reason_3 string",
    )


def _user_values(spark, values):
    return spark.createDataFrame(
        [(f"u{index:02d}", "paid", value) for index, value in enumerate(values)],
        "user_id string, level string, monthly_value double",
    )


def _tiered(spark, probabilities, rank_by="churn_probability", values=None, tiers=None):
    values = values or [1.0] * len(probabilities)
    return assign_risk_tiers(
        _user_scores(spark, probabilities),
        _user_values(spark, values),
        INFO,
        tiers or TIERS,
        rank_by,
    )


def test_ranks_and_tiers_of_ten_users(spark):
    probabilities = [0.05, 0.9, 0.3, 0.7, 0.1, 0.2, 0.6, 0.4, 0.5, 0.8]
    scores = churn_scores_table(_tiered(spark, probabilities))
    assert list(scores.columns) == CHURN_SCORE_COLUMNS
    assert scores["rank"].tolist() == list(range(1, 11))
    assert scores["user_id"].tolist()[:3] == ["u01", "u09", "u03"]  # 0.9, 0.8, 0.7
    # top 10 % of 10 users = 1 high; top 30 % = 3, so 2 medium; 7 low.
    assert scores["risk_tier"].tolist() == ["high"] + ["medium"] * 2 + ["low"] * 7
    assert set(scores["model"]) == {"GBTClassifier/all"}
    assert (scores["scored_at"] == SCORED_AT).all()


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_ranks_follow_the_order_whatever_the_partitioning(spark, partitions):
    """Ranks are numbered across partitions: 1..n in the order of (probability desc,
    user_id), ties included, with no window pulling every row into one partition."""
    rng = random.Random(partitions)
    probabilities = [rng.choice([0.1, 0.25, 0.5, 0.75]) for _ in range(60)]
    scores = assign_risk_tiers(
        _user_scores(spark, probabilities).repartition(partitions),
        _user_values(spark, [1.0] * 60),
        INFO,
        TIERS,
        "churn_probability",
    ).toPandas()
    expected = sorted((-p, f"u{index:02d}") for index, p in enumerate(probabilities))
    ranked = scores.sort_values("rank")
    assert ranked["rank"].tolist() == list(range(1, 61))
    assert ranked["user_id"].tolist() == [user for _, user in expected]


def test_ties_get_distinct_ranks_by_user_id(spark):
    scores = churn_scores_table(_tiered(spark, [0.5, 0.5, 0.5]))
    assert scores["user_id"].tolist() == ["u00", "u01", "u02"]
    assert scores["rank"].tolist() == [1, 2, 3]
    # ceil(0.1 * 3) = 1 high, ceil(0.3 * 3) = 1: no medium.
    assert scores["risk_tier"].tolist() == ["high", "low", "low"]


def test_tier_shares_must_increase(spark):
    tiers = {**TIERS, "tiers": list(reversed(TIERS["tiers"]))}
    with pytest.raises(ValueError, match="must increase"):
        _tiered(spark, [0.5], tiers=tiers)
    with pytest.raises(ValueError, match="rank_by"):
        _tiered(spark, [0.5], rank_by="monthly_value")


def test_ranking_by_expected_loss_puts_the_costly_risk_first(spark):
    # u00: 0.5 x 10 = 5.0; u01: 0.9 x 1 = 0.9; u02: 0.2 x 30 = 6.0
    scores = churn_scores_table(
        _tiered(spark, [0.5, 0.9, 0.2], "expected_monthly_loss", [10.0, 1.0, 30.0])
    )
    assert scores["user_id"].tolist() == ["u02", "u00", "u01"]
    assert scores["expected_monthly_loss"].tolist() == pytest.approx([6.0, 5.0, 0.9])
    by_risk = churn_scores_table(
        _tiered(spark, [0.5, 0.9, 0.2], values=[10.0, 1.0, 30.0])
    )
    assert by_risk["user_id"].tolist() == ["u01", "u00", "u02"]


REVENUE = {"currency": "USD", "monthly_price_paid": 9.99, "revenue_per_advert": 0.02}


def test_monthly_value_by_hand(spark):
    """A 14-day window: adverts x 30 / 14 a month. Free users lose their adverts; a paid
    user who goes free loses the price less the free users' mean adverts."""
    features = spark.createDataFrame(
        [("f1", "free", 7), ("f2", "free", 14), ("p1", "paid", 0), ("x", None, None)],
        "user_id string, level_at_cutoff string, adverts long",
    )
    values = {
        row["user_id"]: (row["level"], row["monthly_value"])
        for row in estimate_monthly_value(features, FROZEN_14, REVENUE).collect()
    }
    # f1: 15 adverts a month, f2: 30, x (no level: free): 0; mean of free users 15
    assert values["f1"] == ("free", pytest.approx(0.30))
    assert values["f2"] == ("free", pytest.approx(0.60))
    assert values["x"] == ("free", pytest.approx(0.0))
    assert values["p1"] == ("paid", pytest.approx(9.99 - 0.02 * 15))


FROZEN_14 = {**FROZEN, "churn_task": {**FROZEN["churn_task"], "observation_days": 14}}
#: The training profile's typical values: medians 0.1 and 2.0.
PROFILE = {
    "features": {
        "thumbs_down_per_song": {"kind": "numeric", "median": 0.1},
        "errors": {"kind": "numeric", "median": 2.0},
    }
}


@pytest.fixture(scope="module")
def linear_model(spark):
    """A logistic regression on the two raw features, fitted on a few rows."""
    rows = spark.createDataFrame(
        [
            (0.05, 1, 0.0),
            (0.1, 2, 0.0),
            (0.3, 6, 1.0),
            (0.2, 5, 1.0),
            (0.02, 1, 0.0),
            (0.3, 1, 0.0),
            (0.05, 6, 1.0),
            (0.1, 1, 0.0),
        ],
        "thumbs_down_per_song double, errors long, label double",
    )
    columns = ["thumbs_down_per_song", "errors"]
    return Pipeline(
        stages=[
            VectorAssembler(inputCols=columns, outputCol="features"),
            LogisticRegression(regParam=0.01, maxIter=50),
        ]
    ).fit(rows)


def _info(slope, intercept):
    return {
        **INFO,
        "feature_columns": {
            "numeric": ["thumbs_down_per_song", "errors"],
            "categorical": [],
        },
        "feature_profile": PROFILE,
        "probability_calibration": {"slope": slope, "intercept": intercept},
    }


def test_reasons_are_the_exact_terms_of_a_linear_model(spark, linear_model):
    model = linear_model
    w_rate, w_errors = model.stages[-1].coefficients.toArray()
    assert w_rate > 0 and w_errors > 0
    features = spark.createDataFrame(
        [
            ("both", SCORED_AT, 0.3, 5),
            ("rate", SCORED_AT, 0.3, 2),
            ("none", SCORED_AT, 0.05, 1),
        ],
        "user_id string, cutoff timestamp, thumbs_down_per_song double, errors long",
    )
    scores = {
        row["user_id"]: row.asDict()
        for row in score_users(model, features, _info(1.0, 0.0), 3).collect()
    }
    # the larger of w * (value - median) comes first; a term at or below 0 is no reason
    both = sorted(
        [
            (w_rate * 0.2, "thumbs down per song: 0.300, typical 0.100"),
            (w_errors * 3, "errors: 5, typical 2"),
        ],
        reverse=True,
    )
    assert [scores["both"][f"reason_{k}"] for k in (1, 2, 3)] == [
        both[0][1],
        both[1][1],
        "",
    ]
    assert [scores["rate"][f"reason_{k}"] for k in (1, 2, 3)] == [
        "thumbs down per song: 0.300, typical 0.100",
        "",
        "",
    ]
    assert [scores["none"][f"reason_{k}"] for k in (1, 2, 3)] == ["", "", ""]
    # calibration slope 1, intercept 0: the model's own probability
    raw = model.transform(features).select("user_id", "probability").collect()
    for row in raw:
        assert scores[row["user_id"]]["churn_probability"] == pytest.approx(
            row["probability"][1]
        )
    assert scores["both"]["scored_at"] == SCORED_AT


def test_probabilities_go_through_the_recorded_calibration(spark, linear_model):
    model = linear_model
    features = spark.createDataFrame(
        [("a", SCORED_AT, 0.3, 5), ("b", SCORED_AT, 0.05, 1)],
        "user_id string, cutoff timestamp, thumbs_down_per_song double, errors long",
    )
    flat = score_users(model, features, _info(0.0, math.log(0.2 / 0.8)), 3)
    assert [row["churn_probability"] for row in flat.collect()] == pytest.approx(
        [0.2, 0.2]
    )
    raw = {
        row["user_id"]: row["probability"][1]
        for row in model.transform(features).collect()
    }
    halved = {
        row["user_id"]: row["churn_probability"]
        for row in score_users(model, features, _info(0.5, -1.0), 3).collect()
    }
    for user, p in raw.items():
        expected = 1 / (1 + math.exp(-(0.5 * math.log(p / (1 - p)) - 1.0)))
        assert halved[user] == pytest.approx(expected)
    with pytest.raises(ValueError, match="records no probability_calibration"):
        score_users(model, features, INFO | {"feature_columns": {}}, 3)


def test_scoring_cutoffs_are_the_active_users_at_the_end_of_the_log(spark):
    log = make_clean_events(
        spark,
        [
            event("active", "2018-10-20 10:00"),
            event("cancelled", "2018-10-19 10:00"),
            event("cancelled", "2018-10-19 10:05", "Cancellation Confirmation"),
            event("gone", "2018-10-15 23:59"),  # outside [10-17, 10-21)
        ],
    )
    span = determine_log_span(log, {"override": None, "min_day_share": 0.1})
    cutoffs = build_scoring_cutoffs(log, span, FROZEN)
    assert collect_rows(cutoffs, ["user_id"]) == [
        {"user_id": "active", "cutoff": "2018-10-21 00:00:00"}
    ]
    # a later end (the override) scores as of that day: nobody was active in its window
    later = {**span, "log_end": "2018-10-30T00:00:00"}
    assert build_scoring_cutoffs(log, later, FROZEN).count() == 0


def test_a_model_without_frozen_windows_is_a_clear_error(spark):
    log = make_clean_events(spark, [event("active", "2018-10-20 10:00")])
    span = determine_log_span(log, {"override": None, "min_day_share": 0.1})
    with pytest.raises(ValueError, match="GBTClassifier/all records no churn_task"):
        build_scoring_cutoffs(log, span, INFO)
