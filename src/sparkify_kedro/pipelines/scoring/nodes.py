"""Nodes of the ``scoring`` pipeline: churn probability, rank and risk tier per user.

Windows and features come from the model (``best_model_info``: the ``churn_task`` and
feature parameters frozen at training), never from the current parameters, so a model
always scores the features it was trained on.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.estimators import churn_probability
from sparkify_kedro.features import compute_user_features, feature_window_params
from sparkify_kedro.windows import cutoff_frame, log_end_timestamp, users_at_risk

CHURN_SCORE_COLUMNS = [
    "user_id",
    "churn_probability",
    "rank",
    "risk_tier",
    "model",
    "scored_at",
]


def _frozen_task(best_model_info: dict[str, Any]) -> dict[str, Any]:
    """The ``churn_task`` the model was trained with; a clear error for a model saved
    before windows were frozen with it."""
    if "churn_task" not in best_model_info or "feature_params" not in best_model_info:
        raise ValueError(
            f"best_model_info of {best_model_info.get('name', 'the model')} records no "
            "churn_task / feature_params: it predates frozen windows. Retrain it "
            "(kedro run --pipelines modeling) before scoring with it."
        )
    return best_model_info["churn_task"]


def build_scoring_cutoffs(
    clean_events: DataFrame, log_span: dict[str, Any], best_model_info: dict[str, Any]
) -> DataFrame:
    """The (user_id, cutoff) rows to score "as of the end of the log".

    cutoff = the log's end (``log_span``, a sparse tail ignored); the users are those with
    an event in ``[cutoff - observation_days, cutoff)`` who have not cancelled before it,
    ``observation_days`` being the model's (``best_model_info["churn_task"]``). The rows
    (one per user) are cached: the features read them twice, once for the days to read.
    """
    observation_days = _frozen_task(best_model_info)["observation_days"]
    cutoffs = cutoff_frame(clean_events, [log_end_timestamp(log_span)])
    return users_at_risk(clean_events, cutoffs, observation_days).cache()


def build_scoring_features(
    clean_events: DataFrame,
    scoring_cutoffs: DataFrame,
    best_model_info: dict[str, Any],
) -> DataFrame:
    """The features of every scoring row, computed exactly as for the model's training
    rows: same function, the model's frozen windows and feature parameters."""
    params = feature_window_params(
        _frozen_task(best_model_info), best_model_info["feature_params"]
    )
    return compute_user_features(clean_events, scoring_cutoffs, params)


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


def _ranked(rows: DataFrame, *order: Column) -> DataFrame:
    """``rows`` with ``rank`` 1..n in ``order``, computed across partitions.

    A window over the whole table would pull every row into one partition (Spark warns,
    "No Partition Defined for Window operation", each time the plan runs); here the sorted
    rows keep their range partitions and ``zipWithIndex`` numbers them in order.
    """
    sorted_rows = rows.orderBy(*order)
    schema = T.StructType(
        [*sorted_rows.schema.fields, T.StructField("rank", T.LongType())]
    )
    numbered = sorted_rows.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 1))
    return rows.sparkSession.createDataFrame(numbered, schema)


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
    ranked = _ranked(user_scores, F.desc("churn_probability"), F.asc("user_id"))
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
