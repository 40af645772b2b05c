"""Time windows shared by labelling, features and scoring: the log's span, cutoffs, users at risk.

Every window is a half-open range of UTC timestamps. A *cutoff* is a UTC midnight: features
of a (user, cutoff) see ``[cutoff - observation_days, cutoff)``, its label sees
``[cutoff, cutoff + horizon_days)``.

The log's *end* decides which label horizons are complete. Exports have sparse tails, in
which a horizon would count too few churns, so the end is the UTC midnight after the last
day holding at least ``min_day_share`` of the median events per day, unless overridden.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

#: The page that ends a user's life on the service: no user is at risk after it.
CANCELLATION_PAGE = "Cancellation Confirmation"
#: Labelling modes (``churn_task.mode``): a row per (user, cutoff) every ``stride_days``,
#: or the classic one row per user with every event before its churn (for comparison).
SNAPSHOT, USER = "snapshot", "user"


def daily_event_counts(clean_events: DataFrame) -> pd.DataFrame:
    """Events per UTC day of the log: columns ``day`` (date) and ``events``, by day.

    One row per day that has events, so a few hundred rows at most whatever the log's size.
    """
    return (
        clean_events.groupBy(F.to_date("ts").alias("day"))
        .agg(F.count(F.lit(1)).alias("events"))
        .orderBy("day")
        .toPandas()
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def choose_log_span(
    daily_counts: pd.DataFrame, min_day_share: float, override: str | None = None
) -> dict[str, Any]:
    """The log's start and end (UTC midnights) from its events per day.

    ``log_start`` is the midnight of the first day with events. ``log_end`` is ``override``
    (an ISO date) when given, else the midnight after the last day holding at least
    ``min_day_share`` of the median events per day. Returns both as ISO strings (naive,
    UTC), with the midnight after the last event, how many events and days lie at or after
    ``log_end`` (the ignored tail) and the rule that chose it.
    """
    if daily_counts.empty:
        raise ValueError("The log holds no events: it has no start and no end.")
    if not 0 <= min_day_share <= 1:
        raise ValueError(f"min_day_share must lie in [0, 1], got {min_day_share}.")
    days = [pd.Timestamp(day).date() for day in daily_counts["day"]]
    events = daily_counts["events"].astype(int).tolist()
    median = float(pd.Series(events).median())
    threshold = min_day_share * median
    covered = [
        day for day, count in zip(days, events, strict=True) if count >= threshold
    ]
    derived_end = _midnight(covered[-1]) + timedelta(days=1)
    if override:
        log_end = _midnight(date.fromisoformat(str(override)[:10]))
        rule = f"override {log_end.date().isoformat()}"
    else:
        log_end = derived_end
        rule = (
            f"midnight after the last day with at least {min_day_share:g} x the median "
            f"day ({median:g} events)"
        )
    tail = [
        (day, count)
        for day, count in zip(days, events, strict=True)
        if _midnight(day) >= log_end
    ]
    return {
        "log_start": _midnight(days[0]).isoformat(),
        "log_end": log_end.isoformat(),
        "derived_log_end": derived_end.isoformat(),
        "midnight_after_last_event": (
            _midnight(days[-1]) + timedelta(days=1)
        ).isoformat(),
        "rule": rule,
        "days_after_log_end": len(tail),
        "events_after_log_end": sum(count for _, count in tail),
    }


def log_end_timestamp(log_span: dict[str, Any]) -> datetime:
    """``log_span["log_end"]`` as a naive UTC datetime."""
    return datetime.fromisoformat(log_span["log_end"])


def snapshot_cutoff_times(
    log_span: dict[str, Any], observation_days: int, horizon_days: int, stride_days: int
) -> list[datetime]:
    """Snapshot cutoffs, earliest first: the last leaves ``horizon_days`` before the log's
    end, the others go back by ``stride_days`` while ``observation_days`` of log remain
    before them. Empty when the log is shorter than ``observation_days + horizon_days``."""
    if stride_days <= 0:
        raise ValueError(f"stride_days must be positive, got {stride_days}.")
    first = datetime.fromisoformat(log_span["log_start"]) + timedelta(
        days=observation_days
    )
    cutoff = log_end_timestamp(log_span) - timedelta(days=horizon_days)
    cutoffs = []
    while cutoff >= first:
        cutoffs.append(cutoff)
        cutoff -= timedelta(days=stride_days)
    return cutoffs[::-1]


def cutoff_frame(spark_source: DataFrame, cutoffs: list[datetime]) -> DataFrame:
    """A one-column (``cutoff``) DataFrame of ``cutoffs``, in the session of ``spark_source``."""
    rows = [(cutoff.replace(tzinfo=timezone.utc),) for cutoff in cutoffs]
    return spark_source.sparkSession.createDataFrame(rows, "cutoff timestamp")


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
        "user_id", F.date_trunc("DAY", "ts").alias("day")
    ).agg(
        F.min(F.when(F.col("page") == CANCELLATION_PAGE, F.col("ts"))).alias(
            "cancelled_at"
        )
    )
    active = (
        active_days.join(F.broadcast(cutoffs.select("cutoff")))
        .where(
            (F.col("day") >= F.timestamp_add("DAY", F.lit(-observation_days), "cutoff"))
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
