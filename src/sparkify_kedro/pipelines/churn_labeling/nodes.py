"""Nodes of the ``churn_labeling`` pipeline: ``clean_events`` to ``churn_labels``.

A label says whether a user churned in a window of time that starts at a *cutoff*; the
features of the same (user, cutoff) only see events before the cutoff (see the
``feature_engineering`` pipeline), so a model trained on them could have been scored at the
cutoff.

- **Snapshot mode** (default): cutoffs are UTC midnights every ``stride_days``, anchored at
  the end of the log, each with a full ``observation_days`` of log before it and a full
  ``horizon_days`` after it. At a cutoff the users at risk are those with at least one event
  in ``[cutoff - observation_days, cutoff)`` who had not cancelled before the cutoff. Label 1
  when the user has a churn event in ``[cutoff, cutoff + horizon_days)``.
- **User mode**: one row per user; cutoff = the user's first churn event, or the end of the
  log (the UTC midnight after the last event) for users who never churned; label = ever
  churned. Only users with at least one event before their cutoff get a row.

Every at-risk user is at risk of every churn page: a free user cannot submit a downgrade
until they upgrade again, so a "Submit Downgrade" label on a user who is free at the cutoff
means they upgraded and downgraded within the horizon (a real paid-to-free move). The level
at the cutoff is a feature, so a model learns that free users rarely downgrade.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.events import churn_pages

#: The page that ends a user's life on the service: no user is at risk after it.
CANCELLATION_PAGE = "Cancellation Confirmation"

SNAPSHOT, USER = "snapshot", "user"

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


def _add_days(timestamp: Column, days: int | Column) -> Column:
    """``timestamp`` plus ``days`` whole days (the session time zone is UTC)."""
    quantity = days if isinstance(days, Column) else F.lit(days)
    return F.timestamp_add("DAY", quantity, timestamp)


def _utc_midnight(timestamp: Column) -> Column:
    """The UTC midnight that starts the day of ``timestamp``."""
    return F.date_trunc("DAY", timestamp)


def log_end(clean_events: DataFrame) -> DataFrame:
    """One row, column ``cutoff``: the UTC midnight after the last event of the log."""
    return clean_events.agg(_add_days(_utc_midnight(F.max("ts")), 1).alias("cutoff"))


def select_churn_events(clean_events: DataFrame, params: dict[str, Any]) -> DataFrame:
    """Keep the events on a churn page: ``user_id``, ``churn_time`` (ts), ``churn_type`` (page)."""
    return clean_events.where(F.col("page").isin(churn_pages(params))).select(
        "user_id",
        F.col("ts").alias("churn_time"),
        F.col("page").alias("churn_type"),
    )


def snapshot_cutoffs(
    clean_events: DataFrame, observation_days: int, horizon_days: int, stride_days: int
) -> DataFrame:
    """The snapshot cutoffs of the log, one row each, column ``cutoff`` (UTC midnight).

    The log covers whole UTC days, from the midnight before its first event to the midnight
    after its last one. The last cutoff leaves ``horizon_days`` of log after it; the others
    go back by ``stride_days`` while a full ``observation_days`` of log remains before the
    cutoff. No cutoff if the log is shorter than ``observation_days + horizon_days`` days.
    """
    bounds = clean_events.agg(
        _add_days(_utc_midnight(F.min("ts")), observation_days).alias("first_cutoff"),
        _add_days(_utc_midnight(F.max("ts")), 1 - horizon_days).alias("last_cutoff"),
    )
    steps = bounds.select(
        "last_cutoff",
        F.floor(
            F.timestamp_diff("DAY", F.col("first_cutoff"), F.col("last_cutoff"))
            / stride_days
        ).alias("steps"),
    ).where(F.col("steps") >= 0)
    return steps.select(
        "last_cutoff",
        F.explode(F.sequence(F.lit(0), F.col("steps").cast("int"))).alias("step"),
    ).select(
        _add_days(F.col("last_cutoff"), -F.col("step") * stride_days).alias("cutoff")
    )


def users_at_risk(
    clean_events: DataFrame, cutoffs: DataFrame, observation_days: int
) -> DataFrame:
    """The (user_id, cutoff) pairs at risk at each UTC-midnight ``cutoff`` of ``cutoffs``.

    At risk: at least one event in ``[cutoff - observation_days, cutoff)`` and no
    cancellation before the cutoff (a cancellation at the cutoff instant still counts as
    churn in the horizon). The events are read once, reduced to (user, day) rows with the
    day's cancellation, so the join with the cutoffs is small.
    """
    active_days = clean_events.groupBy(
        "user_id", _utc_midnight(F.col("ts")).alias("day")
    ).agg(
        F.min(F.when(F.col("page") == CANCELLATION_PAGE, F.col("ts"))).alias(
            "cancelled_at"
        )
    )
    active = (
        active_days.join(F.broadcast(cutoffs.select("cutoff")))
        .where(
            (F.col("day") >= _add_days(F.col("cutoff"), -observation_days))
            & (F.col("day") < F.col("cutoff"))
        )
        .select("user_id", "cutoff")
        .distinct()
    )
    cancellations = active_days.groupBy("user_id").agg(
        F.min("cancelled_at").alias("cancelled_at")
    )
    return (
        active.join(cancellations, "user_id", "left")
        .where(
            F.col("cancelled_at").isNull() | (F.col("cancelled_at") >= F.col("cutoff"))
        )
        .select("user_id", "cutoff")
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
        & (F.col("churn_time") < _add_days(F.col("cutoff"), horizon_days)),
        "left",
    )
    first = hits.groupBy("user_id", "cutoff").agg(
        _first_churn(F.col("churn_time"), F.col("churn_type")).alias("first")
    )
    return _labelled(first, F.col("first"))


def label_users(clean_events: DataFrame, churn_events: DataFrame) -> DataFrame:
    """One label per user (user mode): 1 when the user ever churned.

    cutoff = the user's first churn event, or the end of the log (UTC midnight after the last
    event) for users who never churned. Users without any event before their cutoff are left
    out: they have nothing to learn from.
    """
    first_churn = churn_events.groupBy("user_id").agg(
        _first_churn(F.col("churn_time"), F.col("churn_type")).alias("first")
    )
    first_events = clean_events.groupBy("user_id").agg(F.min("ts").alias("first_event"))
    users = (
        first_events.join(first_churn, "user_id", "left")
        .crossJoin(log_end(clean_events).withColumnRenamed("cutoff", "log_end"))
        .withColumn("cutoff", F.coalesce(F.col("first.churn_time"), F.col("log_end")))
        .where(F.col("first_event") < F.col("cutoff"))
    )
    return _labelled(users, F.col("first"))


def build_churn_labels(
    clean_events: DataFrame,
    churn_events: DataFrame,
    params: dict[str, Any],
    observation_days: int,
) -> DataFrame:
    """``churn_labels`` in the mode of ``params["mode"]`` (``snapshot`` or ``user``).

    ``observation_days`` is the feature window (``feature_engineering.observation_days``):
    in snapshot mode it places the first cutoff and defines who is at risk.
    """
    mode = params["mode"]
    if mode == USER:
        return label_users(clean_events, churn_events)
    if mode != SNAPSHOT:
        raise ValueError(
            f"churn_labeling.mode must be {SNAPSHOT!r} or {USER!r}, not {mode!r}."
        )
    cutoffs = snapshot_cutoffs(
        clean_events, observation_days, params["horizon_days"], params["stride_days"]
    )
    at_risk = users_at_risk(clean_events, cutoffs, observation_days)
    return label_snapshots(at_risk, churn_events, params["horizon_days"])
