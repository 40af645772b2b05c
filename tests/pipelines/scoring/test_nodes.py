"""Ranks and risk tiers of ``churn_scores`` on tiny hand-made tables."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from sparkify_kedro.pipelines.churn_labeling.nodes import determine_log_span
from sparkify_kedro.pipelines.scoring.nodes import (
    CHURN_SCORE_COLUMNS,
    assign_risk_tiers,
    build_scoring_cutoffs,
    churn_scores_table,
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
        [(f"u{index:02d}", p, SCORED_AT) for index, p in enumerate(probabilities)],
        "user_id string, churn_probability double, scored_at timestamp",
    )


def test_ranks_and_tiers_of_ten_users(spark):
    probabilities = [0.05, 0.9, 0.3, 0.7, 0.1, 0.2, 0.6, 0.4, 0.5, 0.8]
    scores = churn_scores_table(
        assign_risk_tiers(_user_scores(spark, probabilities), INFO, TIERS)
    )
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
        _user_scores(spark, probabilities).repartition(partitions), INFO, TIERS
    ).toPandas()
    expected = sorted((-p, f"u{index:02d}") for index, p in enumerate(probabilities))
    ranked = scores.sort_values("rank")
    assert ranked["rank"].tolist() == list(range(1, 61))
    assert ranked["user_id"].tolist() == [user for _, user in expected]


def test_ties_get_distinct_ranks_by_user_id(spark):
    scores = churn_scores_table(
        assign_risk_tiers(_user_scores(spark, [0.5, 0.5, 0.5]), INFO, TIERS)
    )
    assert scores["user_id"].tolist() == ["u00", "u01", "u02"]
    assert scores["rank"].tolist() == [1, 2, 3]
    # ceil(0.1 * 3) = 1 high, ceil(0.3 * 3) = 1: no medium.
    assert scores["risk_tier"].tolist() == ["high", "low", "low"]


def test_tier_shares_must_increase(spark):
    tiers = {**TIERS, "tiers": list(reversed(TIERS["tiers"]))}
    with pytest.raises(ValueError, match="must increase"):
        assign_risk_tiers(_user_scores(spark, [0.5]), INFO, tiers)


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
