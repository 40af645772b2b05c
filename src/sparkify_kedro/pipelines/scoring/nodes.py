"""Nodes of the ``scoring`` pipeline: per user at risk, a calibrated churn probability,
the reasons for it, the revenue churn would lose, a rank and a risk tier.

Windows, features, the probability calibration and the features' typical values come from
``best_model_info`` (frozen at training), never from the current parameters.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.calibration import calibrated_probability, logit_column
from sparkify_kedro.estimators import churn_probability
from sparkify_kedro.feature_catalog import PAID
from sparkify_kedro.features import compute_user_features, feature_window_params
from sparkify_kedro.windows import cutoff_frame, log_end_timestamp, users_at_risk

#: ``churn_scores`` with the default ``scoring.reasons_per_user`` (3), in this order.
CHURN_SCORE_COLUMNS = [
    "user_id",
    "churn_probability",
    "rank",
    "risk_tier",
    "level",
    "monthly_value",
    "expected_monthly_loss",
    "reason_1",
    "reason_2",
    "reason_3",
    "model",
    "scored_at",
]
#: Days in a month, for the monthly revenue of a window's adverts.
DAYS_PER_MONTH = 30.0
_VARIANT, _SHOWN, _LOGIT = "__variant", "__shown", "__logit"


def _recorded(best_model_info: dict[str, Any], *keys: str) -> Any:
    """``best_model_info[keys[0]]``, or a clear error naming the first of ``keys`` it
    lacks (a model saved before they were recorded)."""
    missing = [key for key in keys if key not in best_model_info]
    if missing:
        raise ValueError(
            f"best_model_info of {best_model_info.get('name', 'the model')} records no "
            f"{missing[0]}: it was saved before models recorded it. Retrain it "
            "(kedro run --pipelines modeling) before scoring with it."
        )
    return best_model_info[keys[0]]


def _frozen_task(best_model_info: dict[str, Any]) -> dict[str, Any]:
    """The ``churn_task`` the model was trained with (its feature parameters frozen too)."""
    return _recorded(best_model_info, "churn_task", "feature_params")


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


def _shown(value: Column, data_type: T.DataType) -> Column:
    """A feature value as reasons show it: integers as they are, other numbers with
    fewer decimals the larger they are, text as it is; ``missing`` for no value."""
    if isinstance(data_type, T.StringType | T.IntegralType):
        text = value.cast("string")
    else:
        size = F.abs(value)
        text = (
            F.when(size >= 100, F.format_string("%.0f", value))
            .when(size >= 10, F.format_string("%.1f", value))
            .when(size >= 1, F.format_string("%.2f", value))
            .otherwise(F.format_string("%.3f", value))
        )
    return F.coalesce(text, F.lit("missing"))


def _typical(entry: dict[str, Any]) -> Any:
    """A feature's typical training value: its median, or its mode for a category."""
    return entry["median"] if entry["kind"] == "numeric" else entry["mode"]


def _typical_shown(typical: Any, data_type: T.DataType) -> str:
    """A typical value as :func:`_shown` writes it."""
    if typical is None:
        return "missing"
    if isinstance(data_type, T.StringType):
        return str(typical)
    if isinstance(data_type, T.IntegralType):
        return f"{typical:.0f}"
    size = abs(typical)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{typical:.{digits}f}"


def _with_typical_variants(
    scoring_features: DataFrame,
    typical: dict[str, Any],
    types: dict[str, T.DataType],
) -> DataFrame:
    """Every row once as it is (variant 0) and once per model column ``k`` of ``typical``
    (variant ``k + 1``) with that column set to its typical value; ``__shown`` keeps the
    row's own values as text, for the reasons."""
    columns = list(typical)
    variants = scoring_features.sparkSession.range(len(columns) + 1).select(
        F.col("id").cast("int").alias(_VARIANT)
    )
    rows = scoring_features.crossJoin(F.broadcast(variants)).withColumn(
        _SHOWN, F.array(*[_shown(F.col(name), types[name]) for name in columns])
    )
    return rows.withColumns(
        {
            name: F.when(
                F.col(_VARIANT) == index + 1, F.lit(typical[name]).cast(types[name])
            ).otherwise(F.col(name))
            for index, name in enumerate(columns)
        }
    )


def score_users(
    best_model: PipelineModel,
    scoring_features: DataFrame,
    best_model_info: dict[str, Any],
    reasons_per_user: int,
) -> DataFrame:
    """Each user's calibrated churn probability and the features that raise it most.

    One transform by the model of every row as it is and once per feature the model reads
    set to its typical training value (``best_model_info["feature_profile"]``). A
    feature's contribution is the raw logit minus the logit with that feature typical.
    ``reason_1`` .. ``reason_<reasons_per_user>``: the features of largest positive
    contribution, in words with the user's value and the typical one (``thumbs down per
    song: 0.120, typical 0.030``), ``""`` when fewer raise the score. ``churn_probability``:
    the raw probability through the recorded Platt map.

    Returns ``user_id``, ``scored_at`` (the cutoff), ``churn_probability``, the reasons.
    """
    calibration = _recorded(best_model_info, "probability_calibration")
    profile = _recorded(best_model_info, "feature_profile")["features"]
    feature_columns = best_model_info["feature_columns"]
    columns = [*feature_columns["numeric"], *feature_columns["categorical"]]
    types = {field.name: field.dataType for field in scoring_features.schema.fields}
    typical = {name: _typical(profile[name]) for name in columns}
    scored = best_model.transform(
        _with_typical_variants(scoring_features, typical, types)
    ).select(
        "user_id",
        "cutoff",
        _VARIANT,
        _SHOWN,
        logit_column(churn_probability()).alias(_LOGIT),
    )
    per_user = scored.groupBy("user_id", "cutoff").agg(
        F.max(F.when(F.col(_VARIANT) == 0, F.col(_LOGIT))).alias(_LOGIT),
        F.first(_SHOWN).alias(_SHOWN),
        F.collect_list(
            F.struct(F.col(_VARIANT).alias("variant"), F.col(_LOGIT).alias("typical"))
        ).alias("variants"),
    )
    # (-contribution, variant) of the features that raise the score, largest first
    raising = F.sort_array(
        F.transform(
            F.filter(
                "variants",
                lambda v: (v["variant"] > 0) & (F.col(_LOGIT) - v["typical"] > 1e-9),
            ),
            lambda v: F.struct(
                (v["typical"] - F.col(_LOGIT)).alias("negative"),
                v["variant"].alias("variant"),
            ),
        )
    )
    words = F.array(*[F.lit(name.replace("_", " ")) for name in columns])
    typical_shown = F.array(
        *[F.lit(_typical_shown(typical[name], types[name])) for name in columns]
    )

    def reason(k: int) -> Column:
        variant = F.element_at(raising, k)["variant"]
        return F.when(
            F.size(raising) >= k,
            F.concat(
                F.element_at(words, variant),
                F.lit(": "),
                F.element_at(F.col(_SHOWN), variant),
                F.lit(", typical "),
                F.element_at(typical_shown, variant),
            ),
        ).otherwise(F.lit(""))

    raw_probability = F.lit(1.0) / (F.lit(1.0) + F.exp(-F.col(_LOGIT)))
    return per_user.select(
        "user_id",
        F.col("cutoff").alias("scored_at"),
        calibrated_probability(raw_probability, calibration).alias("churn_probability"),
        *[reason(k).alias(f"reason_{k}") for k in range(1, reasons_per_user + 1)],
    )


def estimate_monthly_value(
    scoring_features: DataFrame,
    best_model_info: dict[str, Any],
    revenue: dict[str, Any],
) -> DataFrame:
    """The monthly revenue each user's churn would lose, from assumed prices.

    A user's adverts per month are their adverts in the observation window scaled to
    30 days (in user mode, over their tenure). A free user who leaves loses their adverts
    (``revenue_per_advert`` each); a paid user who goes free loses ``monthly_price_paid``
    less the adverts a free user hears (the mean over the free users scored; none: 0).
    Returns ``user_id``, ``level`` (``paid``, ``free``; a missing level counts as free)
    and ``monthly_value``; one small aggregation for the free users' mean.
    """
    observation_days = _frozen_task(best_model_info)["observation_days"]
    window_days = (
        F.lit(float(observation_days))
        if observation_days
        else F.greatest(F.col("tenure_days"), F.lit(1.0))
    )
    per_advert = float(revenue["revenue_per_advert"])
    rows = scoring_features.select(
        "user_id",
        F.coalesce(F.col("level_at_cutoff"), F.lit("free")).alias("level"),
        (F.coalesce(F.col("adverts"), F.lit(0)) * DAYS_PER_MONTH / window_days).alias(
            "adverts_per_month"
        ),
    )
    (free_adverts,) = (
        rows.where(F.col("level") != PAID)
        .agg(F.coalesce(F.avg("adverts_per_month"), F.lit(0.0)))
        .first()
    )
    paid_value = float(revenue["monthly_price_paid"]) - per_advert * free_adverts
    return rows.select(
        "user_id",
        "level",
        F.when(F.col("level") == PAID, F.lit(paid_value))
        .otherwise(F.col("adverts_per_month") * per_advert)
        .alias("monthly_value"),
    )


#: What ``scoring.rank_by`` may rank users by.
RANKINGS = ("churn_probability", "expected_monthly_loss")


def assign_risk_tiers(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    user_scores: DataFrame,
    user_values: DataFrame,
    best_model_info: dict[str, Any],
    risk_tiers: dict[str, Any],
    rank_by: str,
) -> DataFrame:
    """Rank users (1 = first to act on) and give each a risk tier and an expected loss.

    ``expected_monthly_loss`` = ``churn_probability`` x ``monthly_value`` (from
    ``user_values``); ``rank_by`` (:data:`RANKINGS`) orders the users, ties broken by
    ``user_id``: ranks are 1..n without gaps. ``risk_tiers["tiers"]`` lists tiers by
    cumulative ``top_share`` of the ranked users, highest first (e.g. high: 0.10, medium:
    0.30 for the top 10 % and the next 20 %); the rest get ``risk_tiers["default"]``.
    Columns: :data:`CHURN_SCORE_COLUMNS`.
    """
    shares = [entry["top_share"] for entry in risk_tiers["tiers"]]
    if shares != sorted(shares) or not all(0 < share <= 1 for share in shares):
        raise ValueError(f"Risk tier shares must increase within (0, 1], got {shares}.")
    if rank_by not in RANKINGS:
        raise ValueError(f"scoring.rank_by must be one of {RANKINGS}, got {rank_by!r}.")
    valued = user_scores.join(user_values, "user_id", "left").withColumn(
        "expected_monthly_loss", F.col("churn_probability") * F.col("monthly_value")
    )
    n_users = valued.count()
    # rank by zipWithIndex over the sorted rows, which keep their range partitions (a
    # window over the whole table would pull every row into one partition)
    ordered = valued.orderBy(F.desc(rank_by), F.asc("user_id"))
    ranked = valued.sparkSession.createDataFrame(
        ordered.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 1)),
        T.StructType([*ordered.schema.fields, T.StructField("rank", T.LongType())]),
    )
    # the first tier whose top_share of the users covers the rank, else the default
    tier = F.lit(risk_tiers["default"])
    for entry in reversed(risk_tiers["tiers"]):
        top = math.ceil(entry["top_share"] * n_users)
        tier = F.when(F.col("rank") <= top, F.lit(entry["name"])).otherwise(tier)
    reasons = [name for name in user_scores.columns if name.startswith("reason_")]
    return ranked.select(
        "user_id",
        "churn_probability",
        "rank",
        tier.alias("risk_tier"),
        "level",
        "monthly_value",
        "expected_monthly_loss",
        *reasons,
        F.lit(best_model_info["name"]).alias("model"),
        "scored_at",
    )


def churn_scores_table(churn_scores: DataFrame) -> pd.DataFrame:
    """``churn_scores`` as one pandas table in rank order (one row per scored user)."""
    return churn_scores.orderBy("rank").toPandas()
