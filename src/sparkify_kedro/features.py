"""Per-(user, cutoff) features, leakage-free, for training and scoring alike.

Every feature of a (user_id, cutoff) row comes from that user's events in the observation
window ``[cutoff - observation_days, cutoff)`` (in user mode, every event before the
cutoff). The events are read once: joined with the broadcast windows, aggregated to
sessions within the window, then to (user, cutoff). "Recent" is the last ``trend_days``
of the window, "earlier" the rest; the trend features compare the two. The feature list
is in ``sparkify_kedro.feature_catalog``.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.feature_catalog import (
    APPROVAL_PAGES,
    BROWSER_PATTERNS,
    FEATURE_TYPES,
    LEVEL_CHANGE_PAGES,
    PAGE_COUNT_FEATURES,
    PAID,
    PLATFORM_PATTERNS,
    SONG_PAGE,
    TREND_RATE_COUNTS,
    WARNING_PAGES,
    selected_features,
)
from sparkify_kedro.windows import USER

_SECONDS_PER_DAY = 86_400.0
#: Song lengths are summed as decimals (the log gives them to 1e-5 s) and session times as
#: integer microseconds: exact sums, whatever the order partitions are added up in.
_EXACT_SECONDS = T.DecimalType(18, 5)

#: Counts summed from sessions to (user, cutoff); 0 for a (user, cutoff) without events.
_COUNTS: tuple[str, ...] = (
    "events",
    "songs",
    *PAGE_COUNT_FEATURES,
    "warning_visits",
    "approvals",
    "level_changes",
    "paid_events",
    "recent_events",
    "recent_songs",
    *[f"recent_{name}" for name in TREND_RATE_COUNTS],
    "recent_approvals",
)
#: Window aggregates that are 0 (not null) for a (user, cutoff) without events.
_ZERO_WHEN_SILENT: tuple[str, ...] = (
    *_COUNTS,
    "sessions",
    "listening_seconds",
    "distinct_artists",
    "active_days",
    "recent_sessions",
    "earlier_sessions",
)


def _first_match(text: Column, patterns: tuple[tuple[str, str], ...]) -> Column:
    """The label of the first regex of ``patterns`` matching ``text``; "other" if none,
    null when ``text`` is null."""
    result = F.lit("other")
    for label, pattern in reversed(patterns):
        result = F.when(text.rlike(pattern), F.lit(label)).otherwise(result)
    return F.when(text.isNotNull(), result)


def _state(location: Column) -> Column:
    """The (first) US state of a "City, ST" / "City-City, ST-ST" location; null if none."""
    state = F.regexp_extract(location, r",\s*([A-Za-z]+)[^,]*$", 1)
    return F.when(state != "", state)


def _windows(
    clean_events: DataFrame, cutoffs: DataFrame, observation_days: int | None
) -> DataFrame:
    """(user_id, cutoff, window_start) per distinct cutoff row.

    window_start = cutoff - observation_days, or the UTC midnight of the log's first event
    when ``observation_days`` is None (every event before the cutoff).
    """
    windows = cutoffs.select("user_id", "cutoff").distinct()
    if observation_days is not None:
        return windows.withColumn(
            "window_start", F.timestamp_add("DAY", F.lit(-observation_days), "cutoff")
        )
    log_start = clean_events.agg(F.date_trunc("DAY", F.min("ts")).alias("window_start"))
    return windows.crossJoin(log_start)


def _days_of(cutoffs: DataFrame, observation_days: int | None) -> Column:
    """Whether an event's ``event_date`` may fall in a window of ``cutoffs``: the days from
    the earliest window start (no bound in user mode) to the latest cutoff, a day wider on
    each side (dates written under another time zone), so that only those days of
    ``clean_events`` (stored by ``event_date``) are read; the test on ``ts`` decides. One
    small job over the cutoffs finds the bounds."""
    first_cutoff, last_cutoff = cutoffs.agg(
        F.to_date(F.min("cutoff")), F.to_date(F.max("cutoff"))
    ).first()
    if last_cutoff is None:
        return F.lit(False)
    days = F.col("event_date") <= F.date_add(F.lit(last_cutoff), 1)
    if observation_days is None:
        return days
    return days & (
        F.col("event_date") >= F.date_sub(F.lit(first_cutoff), observation_days + 1)
    )


def _session_aggregates(windowed: DataFrame, trend_days: int) -> DataFrame:
    """One row per (user_id, cutoff, window_start, session_id): the session's events inside
    the window, counted by kind, with its first and last event time, its artists and days."""
    page, ts = F.col("page"), F.col("ts")
    is_song = page == SONG_PAGE
    is_approval = page.isin(*APPROVAL_PAGES)
    recent = ts >= F.timestamp_add("DAY", F.lit(-trend_days), "cutoff")
    return windowed.groupBy("user_id", "cutoff", "window_start", "session_id").agg(
        F.min(ts).alias("session_start"),
        F.max(ts).alias("session_end"),
        F.count(F.lit(1)).alias("events"),
        F.count(F.when(is_song, 1)).alias("songs"),
        F.sum(F.when(is_song, F.col("length").cast(_EXACT_SECONDS))).alias(
            "listening_seconds"
        ),
        *[
            F.count(F.when(page == name, 1)).alias(feature)
            for feature, name in PAGE_COUNT_FEATURES.items()
        ],
        F.count(F.when(page.isin(*WARNING_PAGES), 1)).alias("warning_visits"),
        F.count(F.when(is_approval, 1)).alias("approvals"),
        F.count(F.when(page.isin(*LEVEL_CHANGE_PAGES), 1)).alias("level_changes"),
        F.count(F.when(F.col("level") == PAID, 1)).alias("paid_events"),
        F.count(F.when(recent, 1)).alias("recent_events"),
        F.count(F.when(is_song & recent, 1)).alias("recent_songs"),
        *[
            F.count(F.when(page.isin(*pages) & recent, 1)).alias(f"recent_{name}")
            for name, pages in TREND_RATE_COUNTS.items()
        ],
        F.count(F.when(is_approval & recent, 1)).alias("recent_approvals"),
        F.collect_set(F.when(is_song, F.col("artist"))).alias("artists"),
        F.collect_set(F.to_date(ts)).alias("dates"),
        F.max(
            F.struct(
                ts, F.col("level"), F.col("user_agent"), F.col("location"), "gender"
            )
        ).alias("latest"),
        F.min("registration").alias("registration"),
    )


def _window_aggregates(sessions: DataFrame, trend_days: int) -> DataFrame:
    """One row per (user_id, cutoff, window_start) with events: the sessions' figures summed,
    distinct artists and days, session-length mean, first/last event, latest profile, and
    the idle time before the last session."""
    recent_start = F.timestamp_add("DAY", F.lit(-trend_days), "cutoff")
    micros = F.unix_micros(F.col("session_end")) - F.unix_micros(F.col("session_start"))
    return sessions.groupBy("user_id", "cutoff", "window_start").agg(
        F.count(F.lit(1)).alias("sessions"),
        *[F.sum(name).alias(name) for name in _COUNTS],
        F.sum("listening_seconds").alias("listening_seconds"),
        (F.sum(micros) / F.count(F.lit(1)) / 60e6).alias("mean_session_minutes"),
        F.size(F.array_distinct(F.flatten(F.collect_list("artists")))).alias(
            "distinct_artists"
        ),
        F.size(F.array_distinct(F.flatten(F.collect_list("dates")))).alias(
            "active_days"
        ),
        F.min("session_start").alias("first_event"),
        F.max("session_end").alias("last_event"),
        F.max("latest").alias("latest"),
        F.min("registration").alias("registration"),
        F.count(F.when(F.col("session_end") >= recent_start, 1)).alias(
            "recent_sessions"
        ),
        F.count(F.when(F.col("session_start") < recent_start, 1)).alias(
            "earlier_sessions"
        ),
        F.slice(
            F.sort_array(
                F.collect_list(F.struct("session_start", "session_end")), asc=False
            ),
            1,
            2,
        ).alias("last_two_sessions"),
    )


def _days_between(start: Column, end: Column) -> Column:
    """``end - start`` in days, as a double."""
    return (F.unix_micros(end) - F.unix_micros(start)) / (_SECONDS_PER_DAY * 1e6)


def _discontent(negative: Column, positive: Column, events: Column) -> Column:
    """ln((negative + 1) / (positive + 1)), null when ``events`` is 0 (nothing to measure)."""
    return F.when(events > 0, F.ln((negative + 1) / (positive + 1)))


def _last_session_gap_days() -> Column:
    """Days from the end of the session before the last one to the start of the last one;
    from the window start when the window holds one session (a lower bound); null without
    sessions. ``last_two_sessions``: (start, end) of the window's last two sessions by
    start, the last first."""
    sessions = F.col("last_two_sessions")
    last_start = sessions[0]["session_start"]
    previous_end = F.when(F.size(sessions) > 1, sessions[1]["session_end"]).otherwise(
        F.col("window_start")
    )
    gap = _days_between(previous_end, last_start)
    return F.when(F.size(sessions) > 0, F.greatest(gap, F.lit(0.0)))


def _rate_trend(count: str) -> tuple[Column, Column]:
    """(recent, change) of ``count`` per song: the recent part's rate, and it minus the
    earlier part's; null where a part has no song."""
    c = F.col
    recent = F.try_divide(c(f"recent_{count}"), F.nullif(c("recent_songs"), F.lit(0)))
    earlier = F.try_divide(
        c(count) - c(f"recent_{count}"),
        F.nullif(c("songs") - c("recent_songs"), F.lit(0)),
    )
    return recent, recent - earlier


def _feature_columns(trend_days: int) -> dict[str, Column]:
    """Every feature as an expression over one (user, cutoff) row of window aggregates
    (counts already 0 for a user without events in the window)."""
    c = F.col
    earlier_days = _days_between(
        c("window_start"), F.timestamp_add("DAY", F.lit(-trend_days), "cutoff")
    )
    earlier_days = F.when(earlier_days > 0, earlier_days)
    songs_recent = c("recent_songs") / trend_days
    songs_earlier = F.try_divide(c("songs") - c("recent_songs"), earlier_days)
    sessions_recent = c("recent_sessions") / trend_days
    sessions_earlier = F.try_divide(c("earlier_sessions"), earlier_days)
    negative = c("thumbs_down") + c("warning_visits")
    recent_negative = c("recent_thumbs_down") + c("recent_warning_visits")
    discontent_recent = _discontent(
        recent_negative, c("recent_approvals"), c("recent_events")
    )
    discontent_earlier = _discontent(
        negative - recent_negative,
        c("approvals") - c("recent_approvals"),
        c("events") - c("recent_events"),
    )
    trends = {name: _rate_trend(name) for name in TREND_RATE_COUNTS}
    return {
        "events": c("events"),
        "sessions": c("sessions"),
        "songs": c("songs"),
        "distinct_artists": c("distinct_artists"),
        "listening_hours": c("listening_seconds").cast("double") / 3600.0,
        "songs_per_session": F.try_divide(c("songs"), c("sessions")),
        "mean_session_minutes": c("mean_session_minutes"),
        "active_days": c("active_days"),
        "events_per_active_day": F.try_divide(c("events"), c("active_days")),
        "days_since_last_event": _days_between(c("last_event"), c("cutoff")),
        "tenure_days": _days_between(
            F.least(c("registration"), c("first_event")), c("cutoff")
        ),
        **{feature: c(feature) for feature in PAGE_COUNT_FEATURES},
        "thumbs_up_per_song": F.try_divide(c("thumbs_up"), c("songs")),
        "thumbs_down_per_song": F.try_divide(c("thumbs_down"), c("songs")),
        "adverts_per_song": F.try_divide(c("adverts"), c("songs")),
        "warning_visits": c("warning_visits"),
        "discontent": _discontent(negative, c("approvals"), c("events")),
        "level_at_cutoff": c("latest.level"),
        "paid_event_share": F.try_divide(c("paid_events"), c("events")),
        "level_changes": c("level_changes"),
        "songs_per_day_recent": songs_recent,
        "songs_per_day_earlier": songs_earlier,
        "songs_per_day_change": songs_recent - songs_earlier,
        "sessions_per_day_recent": sessions_recent,
        "sessions_per_day_earlier": sessions_earlier,
        "sessions_per_day_change": sessions_recent - sessions_earlier,
        **{
            f"{name}_per_song_{part}": column
            for name, (recent, change) in trends.items()
            for part, column in (("recent", recent), ("change", change))
        },
        "discontent_recent": discontent_recent,
        "discontent_change": discontent_recent - discontent_earlier,
        "last_session_gap_days": _last_session_gap_days(),
        "platform": _first_match(c("latest.user_agent"), PLATFORM_PATTERNS),
        "browser": _first_match(c("latest.user_agent"), BROWSER_PATTERNS),
        "gender": c("latest.gender"),
        "state": _state(c("latest.location")),
    }


def compute_user_features(
    clean_events: DataFrame, cutoffs: DataFrame, params: dict[str, Any]
) -> DataFrame:
    """Features of each (user_id, cutoff) row of ``cutoffs`` from the user's events in
    ``[cutoff - params["observation_days"], cutoff)`` (every event before the cutoff when
    ``observation_days`` is None).

    Output: one row per distinct (user_id, cutoff) of ``cutoffs``, columns ``user_id``,
    ``cutoff`` and the features of ``params["feature_groups"]`` in that order, typed as in
    ``FEATURE_TYPES``. A user without events in the window gets counts of 0 and nulls for
    what needs an event (rates per song/session/day, recency, tenure, level, profile).
    """
    features = selected_features(params)
    observation_days = params["observation_days"]
    trend_days = params["trend_days"]
    if observation_days is not None and observation_days <= trend_days:
        raise ValueError("observation_days must be longer than trend_days.")
    events = clean_events.where(_days_of(cutoffs, observation_days))
    windows = _windows(events, cutoffs, observation_days)
    windowed = events.join(F.broadcast(windows), "user_id").where(
        (F.col("ts") >= F.col("window_start")) & (F.col("ts") < F.col("cutoff"))
    )
    aggregates = _window_aggregates(
        _session_aggregates(windowed, trend_days), trend_days
    )
    per_cutoff = windows.join(
        aggregates, ["user_id", "cutoff", "window_start"], "left"
    ).fillna(0, subset=list(_ZERO_WHEN_SILENT))
    columns = _feature_columns(trend_days)
    return per_cutoff.select(
        "user_id",
        "cutoff",
        *[columns[name].cast(FEATURE_TYPES[name]).alias(name) for name in features],
    )


def feature_window_params(
    churn_task: dict[str, Any], feature_params: dict[str, Any]
) -> dict[str, Any]:
    """The parameters of :func:`compute_user_features`: the feature groups of
    ``feature_params`` over the windows of ``churn_task`` (in user mode, every event before
    the cutoff). Training and scoring call it alike, scoring with the model's frozen copy."""
    observation_days = (
        None if churn_task["mode"] == USER else churn_task["observation_days"]
    )
    return {
        **feature_params,
        "observation_days": observation_days,
        "trend_days": churn_task["trend_days"],
    }
