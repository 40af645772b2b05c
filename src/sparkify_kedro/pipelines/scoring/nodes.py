"""Nodes of the ``scoring`` pipeline: churn probability, rank and risk tier per user."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from sparkify_kedro.pipelines.modeling.estimators import churn_probability
from sparkify_kedro.windows import cutoff_frame, log_end_timestamp, users_at_risk

CHURN_SCORE_COLUMNS = [
    "user_id",
    "churn_probability",
    "rank",
    "risk_tier",
    "model",
    "scored_at",
]


def build_scoring_cutoffs(
    clean_events: DataFrame, log_span: dict[str, Any], observation_days: int
) -> DataFrame:
    """The (user_id, cutoff) rows to score "as of the end of the log".

    cutoff = the log's end (``log_span``, a sparse tail ignored); the users are those with
    an event in ``[cutoff - observation_days, cutoff)`` who have not cancelled before it.
    """
    cutoffs = cutoff_frame(clean_events, [log_end_timestamp(log_span)])
    return users_at_risk(clean_events, cutoffs, observation_days)


def score_users(best_model: PipelineModel, scoring_features: DataFrame) -> DataFrame:
    """``user_id``, ``scored_at`` (the cutoff) and ``churn_probability`` per feature row."""
    return best_model.transform(scoring_features).select(
        "user_id",
        F.col("cutoff").alias("scored_at"),
        churn_probability().alias("churn_probability"),
    )


def _tier(
    rank: Any, n_users: int, risk_tiers: list[dict[str, Any]], default: str
) -> Any:
    """The first tier whose ``top_share`` of ``n_users`` covers ``rank``, else ``default``."""
    tier = F.lit(default)
    for entry in reversed(risk_tiers):
        top = math.ceil(entry["top_share"] * n_users)
        tier = F.when(rank <= top, F.lit(entry["name"])).otherwise(tier)
    return tier


def assign_risk_tiers(
    user_scores: DataFrame,
    best_model_info: dict[str, Any],
    risk_tiers: dict[str, Any],
) -> DataFrame:
    """Rank users by churn probability (1 = most at risk) and give each a risk tier.

    Ranks are 1..n without gaps (ties broken by ``user_id``). ``risk_tiers["tiers"]`` lists
    tiers by cumulative ``top_share`` of users, highest first (e.g. high: 0.10, medium:
    0.30 for the top 10 % and the next 20 %); the rest get ``risk_tiers["default"]``.
    """
    shares = [entry["top_share"] for entry in risk_tiers["tiers"]]
    if shares != sorted(shares) or not all(0 < share <= 1 for share in shares):
        raise ValueError(f"Risk tier shares must increase within (0, 1], got {shares}.")
    n_users = user_scores.count()
    by_risk = Window.orderBy(F.desc("churn_probability"), F.asc("user_id"))
    ranked = user_scores.withColumn("rank", F.row_number().over(by_risk))
    return ranked.select(
        "user_id",
        "churn_probability",
        "rank",
        _tier(F.col("rank"), n_users, risk_tiers["tiers"], risk_tiers["default"]).alias(
            "risk_tier"
        ),
        F.lit(best_model_info["name"]).alias("model"),
        "scored_at",
    )


def churn_scores_table(churn_scores: DataFrame) -> pd.DataFrame:
    """``churn_scores`` as one pandas table in rank order (one row per scored user)."""
    return churn_scores.orderBy("rank").toPandas()[CHURN_SCORE_COLUMNS]
