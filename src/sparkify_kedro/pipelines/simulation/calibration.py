"""The simulator's calibration: its figures against the published mini file, and the figure.

``build_simulation_calibration`` aggregates the simulated log (in Spark, to small tables)
into the figures the public analyses report, each with a tolerance around the published
value; ``plot_simulation_calibration`` draws each as simulated / published.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

import sparkify_kedro.pipelines.simulation.reference as ref
from sparkify_kedro.pipelines.simulation.nodes import (
    CANCELLATION,
    DOWNGRADE,
    page_is,
    parse_lines,
)


def _check(
    figure: str, simulated: float, published: float, low: float, high: float
) -> dict[str, Any]:
    """One calibration line: the simulated figure beside the published one and its range."""
    return {
        "figure": figure,
        "simulated": round(simulated, 4),
        "published": round(published, 4),
        "low": round(low, 4),
        "high": round(high, 4),
        "passed": bool(low <= simulated <= high),
    }


def _within(
    figure: str, simulated: float, published: float, tolerance: float
) -> dict[str, Any]:
    """A calibration line whose range is ``published`` ± ``tolerance`` (relative)."""
    low, high = published * (1 - tolerance), published * (1 + tolerance)
    return _check(figure, simulated, published, low, high)


def _info(figure: str, simulated: float | None, published: float) -> dict[str, Any]:
    """A figure reported for comparison only, without a tolerance."""
    return {
        "figure": figure,
        "simulated": None if simulated is None else round(simulated, 6),
        "published": round(published, 6),
    }


def build_simulation_calibration(
    simulated_events: DataFrame, parameters: dict[str, Any]
) -> dict[str, Any]:
    """Compare the simulated log with the published figures of the mini file.

    Counts are scaled by ``n_users / 225``. Checked: total rows (±10 %), share of rows
    without a user (±0.6 points), users who cancel and users who submit a downgrade
    (±12 at 225 users), the share of every page holding at least 1 % of the mini file
    (±25 %), and the paid / free ratio of songs per session (±25 %). Reported without a
    tolerance: songs per session by level, songs and sessions per user for cancelling and
    other users, shares of the rarer pages. The log is read once into rows per (user,
    session, level, page); only aggregates reach the driver.
    """
    scale = int(parameters["n_users"]) / ref.MINI_USERS
    session_pages = (
        parse_lines(simulated_events, "userId", "sessionId", "page", "level")
        .groupBy("userId", "sessionId", "level", "page")
        .agg(F.count(F.lit(1)).alias("rows"))
        .persist()
    )
    page_counts = dict(session_pages.groupBy("page").agg(F.sum("rows")).collect())
    totals = session_pages.agg(
        F.sum("rows").alias("rows"),
        F.sum(F.when(F.col("userId") == "", F.col("rows"))).alias("without_user"),
        F.countDistinct(F.when(page_is(CANCELLATION), F.col("userId"))).alias("cancel"),
        F.countDistinct(F.when(page_is(DOWNGRADE), F.col("userId"))).alias("downgrade"),
    ).first()
    songs = F.sum(F.when(page_is("NextSong"), F.col("rows")).otherwise(0))
    known = session_pages.where(F.col("userId") != "")
    songs_per_session = dict(
        known.groupBy("userId", "sessionId", "level")
        .agg(songs.alias("songs"))
        .groupBy("level")
        .agg(F.avg("songs"))
        .collect()
    )
    by_group = {
        ("cancelled" if row["cancelled"] else "other"): row
        for row in known.groupBy("userId")
        .agg(
            songs.alias("songs"),
            F.countDistinct("sessionId").alias("sessions"),
            F.max(page_is(CANCELLATION)).alias("cancelled"),
        )
        .groupBy("cancelled")
        .agg(F.avg("songs").alias("songs"), F.avg("sessions").alias("sessions"))
        .collect()
    }
    session_pages.unpersist()

    rows = totals["rows"]
    without_user = ref.MINI_ROWS_WITHOUT_USER / ref.MINI_ROWS
    free, paid = songs_per_session.get("free"), songs_per_session.get("paid")
    mini_songs = ref.MINI_SONGS_PER_SESSION
    checks = [
        _within("total rows", rows, ref.MINI_ROWS * scale, ref.ROWS_TOLERANCE),
        _check(
            "share of rows without a user",
            totals["without_user"] / rows,
            without_user,
            without_user - ref.ROWS_WITHOUT_USER_TOLERANCE,
            without_user + ref.ROWS_WITHOUT_USER_TOLERANCE,
        ),
        *(
            _check(
                figure,
                totals[key],
                published * scale,
                (published - ref.CHURN_USERS_TOLERANCE) * scale,
                (published + ref.CHURN_USERS_TOLERANCE) * scale,
            )
            for figure, key, published in (
                ("users who cancel", "cancel", ref.MINI_CANCELLING_USERS),
                (
                    "users who submit a downgrade",
                    "downgrade",
                    ref.MINI_DOWNGRADING_USERS,
                ),
            )
        ),
        *(
            _within(
                f"share of {page} rows",
                page_counts.get(page, 0) / rows,
                count / ref.MINI_ROWS,
                ref.PAGE_SHARE_TOLERANCE,
            )
            for page, count in ref.MINI_PAGE_COUNTS.items()
            if count / ref.MINI_ROWS >= ref.PAGE_SHARE_MIN
        ),
        _within(
            "songs per session, paid / free",
            paid / free if free and paid else 0.0,
            mini_songs["paid"] / mini_songs["free"],
            ref.SONG_RATIO_TOLERANCE,
        ),
    ]
    informative = [
        _info("songs per session, free", free, mini_songs["free"]),
        _info("songs per session, paid", paid, mini_songs["paid"]),
        *(
            _info(
                f"{figure} per user, {group}",
                by_group[group][figure] if group in by_group else None,
                published[group],
            )
            for group in ("cancelled", "other")
            for figure, published in (
                ("songs", ref.MINI_SONGS_PER_USER),
                ("sessions", ref.MINI_SESSIONS_PER_USER),
            )
        ),
        *(
            _info(
                f"share of {page} rows",
                page_counts.get(page, 0) / rows,
                count / ref.MINI_ROWS,
            )
            for page, count in ref.MINI_PAGE_COUNTS.items()
            if count / ref.MINI_ROWS < ref.PAGE_SHARE_MIN
        ),
    ]
    return {
        "parameters": {
            key: parameters[key] for key in ("n_users", "seed", "start", "end")
        },
        "scale_to_mini": round(scale, 6),
        "passed": all(check["passed"] for check in checks),
        "checks": checks,
        "for_comparison": informative,
    }


def plot_simulation_calibration(simulation_calibration: dict[str, Any]) -> go.Figure:
    """Each simulated figure over its published mini-file value, with the tolerance.

    A ratio of 1 matches the published figure; the grey bar spans the accepted range of
    a check (green marker: passed, red: failed); figures without a tolerance are grey.
    """
    entries = [
        {**check, "checked": True} for check in simulation_calibration["checks"]
    ] + [
        {**info, "checked": False}
        for info in simulation_calibration.get("for_comparison", [])
    ]
    entries = [
        entry
        for entry in entries
        if entry["simulated"] is not None and entry["published"]
    ]
    table = pd.DataFrame(entries)
    table["ratio"] = table["simulated"] / table["published"]
    checked = table[table["checked"]]
    figure = go.Figure(
        go.Bar(
            y=checked["figure"],
            x=(checked["high"] - checked["low"]) / checked["published"],
            base=checked["low"] / checked["published"],
            orientation="h",
            marker_color="lightgrey",
            name="accepted range",
        )
    )
    colours = [
        ("green" if entry.passed else "red") if entry.checked else "grey"
        for entry in table.itertuples()
    ]
    figure.add_trace(
        go.Scatter(
            y=table["figure"],
            x=table["ratio"],
            mode="markers",
            marker={"color": colours, "size": 9},
            customdata=table[["simulated", "published"]],
            hovertemplate="simulated %{customdata[0]} / published %{customdata[1]}",
            name="simulated / published",
        )
    )
    figure.add_vline(x=1, line_dash="dash", line_color="grey")
    figure.update_layout(
        title=(
            "Simulator calibration against the mini file: "
            + ("all checks passed" if simulation_calibration["passed"] else "FAILED")
        ),
        xaxis_title="simulated / published",
        height=max(400, 22 * len(table) + 150),
        yaxis={"autorange": "reversed"},
    )
    return figure
