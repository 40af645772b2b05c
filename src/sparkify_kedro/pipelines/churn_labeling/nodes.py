"""Nodes of the ``churn_labeling`` pipeline: ``clean_events`` to ``churn_labels``.

A label says whether a user churned in the ``horizon_days`` after a *cutoff*; the features
of the same (user, cutoff) only see events before it. Snapshot mode labels the users at
risk at UTC-midnight cutoffs every ``stride_days``, each with a full observation window
before it and a full horizon after it within ``log_span``; user mode gives one row per
user, cut off at their first churn or the log's end (the README says more).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.events import churn_pages
from sparkify_kedro.windows import (
    SNAPSHOT,
    USER,
    choose_log_span,
    cutoff_frame,
    daily_event_counts,
    log_end_timestamp,
    snapshot_cutoff_times,
    users_at_risk,
)

#: ``churn_labels``: one row per (user_id, cutoff).
CHURN_LABEL_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType()),
        T.StructField("cutoff", T.TimestampType()),
        T.StructField("label", T.IntegerType()),
        T.StructField("churn_type", T.StringType()),
        T.StructField("churn_time", T.TimestampType()),
    ]
)


def determine_log_span(
    clean_events: DataFrame, log_end_params: dict[str, Any]
) -> dict[str, Any]:
    """``log_span``: the log's first midnight and its end, ignoring a sparse tail
    (:func:`sparkify_kedro.windows.choose_log_span` with ``log_end_params``)."""
    return choose_log_span(
        daily_event_counts(clean_events),
        log_end_params["min_day_share"],
        log_end_params.get("override"),
    )


def select_churn_events(clean_events: DataFrame, params: dict[str, Any]) -> DataFrame:
    """Keep the events on a churn page: ``user_id``, ``churn_time`` (ts), ``churn_type`` (page)."""
    return clean_events.where(F.col("page").isin(churn_pages(params))).select(
        "user_id",
        F.col("ts").alias("churn_time"),
        F.col("page").alias("churn_type"),
    )


def _first_churn(churn_time: Column, churn_type: Column) -> Column:
    """Aggregate: the earliest (churn_time, churn_type) of the group, ignoring no-churn rows."""
    return F.min(
        F.when(
            churn_time.isNotNull(),
            F.struct(churn_time.alias("churn_time"), churn_type.alias("churn_type")),
        )
    )


def _labelled(frame: DataFrame, first: Column) -> DataFrame:
    """``CHURN_LABEL_SCHEMA`` columns from (user_id, cutoff) and a first-churn struct column."""
    return frame.select(
        "user_id",
        "cutoff",
        first.isNotNull().cast(T.IntegerType()).alias("label"),
        first["churn_type"].alias("churn_type"),
        first["churn_time"].alias("churn_time"),
    ).select([F.col(f.name).cast(f.dataType) for f in CHURN_LABEL_SCHEMA])


def label_snapshots(
    at_risk: DataFrame, churn_events: DataFrame, horizon_days: int
) -> DataFrame:
    """Label each at-risk (user_id, cutoff): 1 when the user has a churn event in
    ``[cutoff, cutoff + horizon_days)``, with the first such event's page and time."""
    hits = at_risk.join(
        F.broadcast(churn_events.withColumnRenamed("user_id", "churn_user_id")),
        (F.col("user_id") == F.col("churn_user_id"))
        & (F.col("churn_time") >= F.col("cutoff"))
        & (F.col("churn_time") < F.timestamp_add("DAY", F.lit(horizon_days), "cutoff")),
        "left",
    )
    first = hits.groupBy("user_id", "cutoff").agg(
        _first_churn(F.col("churn_time"), F.col("churn_type")).alias("first")
    )
    return _labelled(first, F.col("first"))


def label_users(
    clean_events: DataFrame, churn_events: DataFrame, log_end: datetime
) -> DataFrame:
    """One label per user (user mode): 1 when the user churned before ``log_end``.

    cutoff = the user's first churn event, or ``log_end`` for users who did not churn before
    it. Users without any event before their cutoff are left out: they have nothing to
    learn from.
    """
    end = F.lit(log_end.replace(tzinfo=timezone.utc)).cast(T.TimestampType())
    first_churn = (
        churn_events.where(F.col("churn_time") < end)
        .groupBy("user_id")
        .agg(_first_churn(F.col("churn_time"), F.col("churn_type")).alias("first"))
    )
    first_events = clean_events.groupBy("user_id").agg(F.min("ts").alias("first_event"))
    users = (
        first_events.join(first_churn, "user_id", "left")
        .withColumn("cutoff", F.coalesce(F.col("first.churn_time"), end))
        .where(F.col("first_event") < F.col("cutoff"))
    )
    return _labelled(users, F.col("first"))


def build_churn_labels(
    clean_events: DataFrame,
    churn_events: DataFrame,
    log_span: dict[str, Any],
    churn_task: dict[str, Any],
) -> DataFrame:
    """``churn_labels`` in the mode of ``churn_task["mode"]`` (``snapshot`` or ``user``).

    ``log_span`` bounds the cutoffs: a label horizon never runs past the log's end. In
    snapshot mode ``observation_days`` places the first cutoff and defines who is at risk.
    """
    mode = churn_task["mode"]
    if mode == USER:
        return label_users(clean_events, churn_events, log_end_timestamp(log_span))
    if mode != SNAPSHOT:
        raise ValueError(
            f"churn_task.mode must be {SNAPSHOT!r} or {USER!r}, not {mode!r}."
        )
    observation_days = churn_task["observation_days"]
    horizon_days = churn_task["horizon_days"]
    cutoff_times = snapshot_cutoff_times(
        log_span, observation_days, horizon_days, churn_task["stride_days"]
    )
    cutoffs = cutoff_frame(clean_events, cutoff_times)
    at_risk = users_at_risk(clean_events, cutoffs, observation_days)
    return label_snapshots(at_risk, churn_events, horizon_days)
