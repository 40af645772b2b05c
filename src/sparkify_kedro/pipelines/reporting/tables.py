"""Tables of the ``reporting`` pipeline: Spark data reduced in Spark to small tables (a
row per segment value, histogram bin or score step; for the page, per scored user), the
inputs of the figures (``figures.py``)."""

from __future__ import annotations

import math
from functools import reduce
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.columns import LABEL

CHURNERS, OTHERS = "churners", "others"


def churn_rate_by_segment(
    model_input_table: DataFrame, segments: dict[str, str]
) -> pd.DataFrame:
    """Rows, churners and churn rate of the labelled rows per value of each segment.

    ``segments`` maps a segment name (``level``) to a column of ``model_input_table``
    (``level_at_cutoff``). A missing value counts as ``unknown``. Columns: ``segment``,
    ``value``, ``rows``, ``churners``, ``churn_rate``; per segment, most rows first.
    """
    parts = [
        model_input_table.groupBy(
            F.coalesce(F.col(column).cast("string"), F.lit("unknown")).alias("value")
        )
        .agg(F.count("*").alias("rows"), F.sum(LABEL).alias("churners"))
        .withColumn("segment", F.lit(name))
        for name, column in segments.items()
    ]
    table = reduce(DataFrame.unionByName, parts).toPandas()
    table["churn_rate"] = table["churners"] / table["rows"]
    order = {name: index for index, name in enumerate(segments)}
    table = table.sort_values(
        ["segment", "rows", "value"],
        ascending=[True, False, True],
        key=lambda column: column.map(order) if column.name == "segment" else column,
    )
    return table[["segment", "value", "rows", "churners", "churn_rate"]].reset_index(
        drop=True
    )


def numeric_features(
    feature_groups: dict[str, list[str]], categorical_features: list[str]
) -> list[str]:
    """The numeric feature columns of every group, in order (no categorical feature)."""
    categorical = set(categorical_features)
    columns = dict.fromkeys(c for group in feature_groups.values() for c in group)
    return [column for column in columns if column not in categorical]


def feature_separation(
    model_input_table: DataFrame,
    feature_groups: dict[str, list[str]],
    categorical_features: list[str],
) -> pd.DataFrame:
    """How far churners and others lie apart on each numeric feature, strongest first.

    One Spark aggregation: mean and standard deviation per class. ``effect_size`` is the
    difference of means over the pooled standard deviation (Cohen's d, churners minus
    others); a feature that never varies has none and sorts last.
    """
    features = numeric_features(feature_groups, categorical_features)
    aggregates = [
        aggregate(F.col(feature).cast("double")).alias(f"{name}:{feature}")
        for feature in features
        for name, aggregate in (
            ("mean", F.avg),
            ("sd", F.stddev_samp),
            ("n", F.count),
        )
    ]
    stats = {
        int(row[LABEL]): row.asDict()
        for row in model_input_table.groupBy(LABEL).agg(*aggregates).collect()
    }
    churners, others = stats.get(1, {}), stats.get(0, {})
    table = pd.DataFrame(
        [
            {
                "feature": feature,
                "mean_churners": churners.get(f"mean:{feature}"),
                "mean_others": others.get(f"mean:{feature}"),
                "effect_size": _cohens_d(churners, others, feature),
            }
            for feature in features
        ]
    )
    table["abs_effect_size"] = table["effect_size"].abs()
    return (
        table.sort_values("abs_effect_size", ascending=False, na_position="last")
        .drop(columns="abs_effect_size")
        .reset_index(drop=True)
    )


def _cohens_d(churners: dict[str, Any], others: dict[str, Any], feature: str) -> float:
    """(mean of churners - mean of others) / pooled standard deviation, else NaN.

    ``churners`` and ``others`` hold the ``mean:``, ``sd:`` and ``n:`` aggregates of
    each feature for one class; NaN when a class is missing or nothing varies.
    """
    mean_1, mean_0 = churners.get(f"mean:{feature}"), others.get(f"mean:{feature}")
    sd_1, sd_0 = churners.get(f"sd:{feature}"), others.get(f"sd:{feature}")
    n_1, n_0 = churners.get(f"n:{feature}", 0), others.get(f"n:{feature}", 0)
    if None in (mean_1, mean_0, sd_1, sd_0) or n_1 + n_0 <= 2:
        return math.nan
    pooled = math.sqrt(((n_1 - 1) * sd_1**2 + (n_0 - 1) * sd_0**2) / (n_1 + n_0 - 2))
    return (mean_1 - mean_0) / pooled if pooled > 0 else math.nan


def feature_histograms(
    model_input_table: DataFrame,
    separation: pd.DataFrame,
    n_features: int,
    bins: int,
) -> pd.DataFrame:
    """Histograms of the ``n_features`` strongest features, churners and others apart.

    The bins split the feature's 1st..99th percentile range into ``bins`` equal widths;
    values outside fall into the end bins, missing values are left out. ``share`` is the
    bin's share of its class's non-missing rows. Columns: ``feature``, ``bin``,
    ``bin_start``, ``bin_end``, ``group`` (churners | others), ``rows``, ``share``.
    """
    features = list(separation.dropna(subset=["effect_size"])["feature"][:n_features])
    ranges = model_input_table.approxQuantile(features, [0.01, 0.99], 0.001)
    parts = []
    for feature, (low, high) in zip(features, ranges, strict=True):
        value = F.col(feature).cast("double")
        width = (high - low) / bins if high > low else 1.0
        index = F.least(
            F.greatest(F.floor((value - F.lit(low)) / F.lit(width)), F.lit(0)),
            F.lit(bins - 1),
        )
        parts.append(
            model_input_table.where(value.isNotNull())
            .groupBy(F.col(LABEL).alias(LABEL), index.cast("int").alias("bin"))
            .count()
            .withColumn("feature", F.lit(feature))
            .withColumn("bin_start", F.lit(low) + F.col("bin") * F.lit(width))
            .withColumn("bin_end", F.col("bin_start") + F.lit(width))
        )
    columns = ["feature", "bin", "bin_start", "bin_end", "group", "rows", "share"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = reduce(DataFrame.unionByName, parts).toPandas()
    table = table.rename(columns={"count": "rows"})
    table["group"] = table[LABEL].map({1: CHURNERS, 0: OTHERS})
    table["share"] = table["rows"] / table.groupby(["feature", LABEL])[
        "rows"
    ].transform("sum")
    order = {feature: index for index, feature in enumerate(features)}
    table = table.sort_values(
        ["feature", "group", "bin"],
        key=lambda column: column.map(order) if column.name == "feature" else column,
    )
    return table[columns].reset_index(drop=True)


def churn_score_histogram(churn_scores: DataFrame, bins: int) -> pd.DataFrame:
    """Scored users per churn-probability bin and risk tier (``bins`` bins over [0, 1])."""
    index = F.least(F.floor(F.col("churn_probability") * F.lit(bins)), F.lit(bins - 1))
    table = (
        churn_scores.groupBy(index.cast("int").alias("bin"), "risk_tier")
        .agg(F.count("*").alias("users"))
        .toPandas()
        .sort_values(["bin", "risk_tier"])
    )
    table["bin_start"] = table["bin"] / bins
    table["bin_end"] = (table["bin"] + 1) / bins
    return table[["bin", "bin_start", "bin_end", "risk_tier", "users"]].reset_index(
        drop=True
    )


#: The columns of ``churn_scores`` that hold a user's reasons, strongest first.
REASONS = ("reason_1", "reason_2", "reason_3")
#: The money figures of the page, summed per tier and overall.
MONEY = ("monthly_value", "expected_monthly_loss")
#: What the page lists of every scored user (with its reasons), in this order.
USER_COLUMNS = ("user_id", "rank", "churn_probability", "risk_tier", "level", *MONEY)


def _finite(value: Any) -> Any:
    """The value, but None for NaN (JSON has no NaN; the page reads None as n/a)."""
    return None if isinstance(value, float) and math.isnan(value) else value


def list_scored_users(churn_scores: DataFrame) -> list[dict[str, Any]]:
    """Every scored user in rank order, as the users table of a page lists them
    (``templates/users_table.html.j2``): one collect of one row per user.

    Keys: ``user_id``, ``rank``, ``churn_probability``, ``risk_tier``, ``level``,
    ``monthly_value``, ``expected_monthly_loss`` (NaN as None) and ``reasons`` (the
    non-empty ``reason_1..3``, strongest first).
    """
    return [
        {
            **{key: _finite(row[key]) for key in USER_COLUMNS},
            "reasons": [row[column] for column in REASONS if row[column]],
        }
        for row in churn_scores.select(*USER_COLUMNS, *REASONS)
        .orderBy("rank", "user_id")
        .collect()
    ]


def _sum(values: list[Any]) -> Any:
    """The sum of the values that are not None; None when every one is."""
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _totals(tiers: list[dict[str, Any]]) -> dict[str, Any]:
    """Every tier together: users, mean churn probability (over users) and the sums."""
    users = sum(tier["users"] for tier in tiers)
    weighted = _sum(
        [
            tier["users"] * tier["mean_probability"]
            for tier in tiers
            if tier["mean_probability"] is not None
        ]
    )
    return {
        "users": users,
        "mean_probability": None if weighted is None else weighted / users,
        **{key: _sum([tier[key] for tier in tiers]) for key in MONEY},
    }


def summarise_risk(
    churn_scores: DataFrame, top_users: int, revenue: dict[str, Any]
) -> dict[str, Any]:
    """The scored users per risk tier with their revenue at risk, and every user, for the
    page: one aggregation (a row per tier) and one collect (a row per user).

    Keys: ``users``, ``scored_at`` (the latest scoring cutoff); ``tiers`` (most at risk
    first: ``risk_tier``, ``users``, ``first_rank``, ``last_rank``, ``min_``, ``max_``
    and ``mean_probability``, ``monthly_value`` and ``expected_monthly_loss`` summed);
    ``totals`` (the same over every tier); ``revenue`` (the money assumptions, as given);
    ``scored_users`` (:func:`list_scored_users`) and ``top_users`` (the first
    ``top_users`` of them: ``rank``, ``user_id``, ``churn_probability``, ``risk_tier``).
    """
    tiers = (
        churn_scores.groupBy("risk_tier")
        .agg(
            F.count(F.lit(1)).alias("users"),
            F.min("rank").alias("first_rank"),
            F.max("rank").alias("last_rank"),
            F.min("churn_probability").alias("min_probability"),
            F.max("churn_probability").alias("max_probability"),
            F.avg("churn_probability").alias("mean_probability"),
            *(F.sum(column).alias(column) for column in MONEY),
            F.max("scored_at").alias("scored_at"),
        )
        .orderBy("first_rank")
        .collect()
    )
    users = list_scored_users(churn_scores)
    scored_at = max((row["scored_at"] for row in tiers), default=None)
    tier_rows = [
        {
            key: _finite(value)
            for key, value in row.asDict().items()
            if key != "scored_at"
        }
        for row in tiers
    ]
    top_keys = ("rank", "user_id", "churn_probability", "risk_tier")
    return {
        "users": len(users),
        "scored_at": None if scored_at is None else pd.Timestamp(scored_at).isoformat(),
        "tiers": tier_rows,
        "totals": _totals(tier_rows),
        "revenue": dict(revenue),
        "scored_users": users,
        "top_users": [
            {key: user[key] for key in top_keys} for user in users[:top_users]
        ],
    }
