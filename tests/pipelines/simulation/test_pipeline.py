"""The simulation pipeline on a default-size log (225 users), generated once per session."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from sparkify_kedro.events import KNOWN_PAGES, RAW_EVENT_SCHEMA
from sparkify_kedro.pipelines.simulation.calibration import build_simulation_calibration
from sparkify_kedro.pipelines.simulation.nodes import build_simulation_truth
from sparkify_kedro.pipelines.simulation.primitives import (
    CANCEL_GATEWAYS,
    PAGE_HTTP,
    epoch_seconds,
)
from tests.kedro_helpers import load_dataset, run_pipeline
from tests.pipelines.simulation.conftest import write_log

_USER_FIELDS = (
    "location",
    "userAgent",
    "lastName",
    "firstName",
    "registration",
    "gender",
)


@pytest.fixture(scope="module")
def events(default_log: DataFrame) -> Iterator[DataFrame]:
    """The default log parsed with the raw schema, cached for this module."""
    parsed = default_log.select(F.from_json("value", RAW_EVENT_SCHEMA).alias("e"))
    cached = parsed.select("e.*").cache()
    yield cached
    cached.unpersist()


@pytest.fixture(scope="module")
def calibration(default_log: DataFrame, simulation_params: dict[str, Any]) -> dict:
    return build_simulation_calibration(default_log, simulation_params)


def _count(frame: DataFrame, condition) -> int:
    return frame.where(condition).count()


def _file_contents(path: Path) -> list[bytes]:
    """The decompressed content of each part file, in part order."""
    return [gzip.decompress(part.read_bytes()) for part in sorted(path.glob("part-*"))]


def test_same_seed_same_bytes_other_seed_differs(
    spark, simulation_params: dict[str, Any], tmp_path: Path
):
    small = {**simulation_params, "n_users": 6}
    first = write_log(small, tmp_path / "a")
    second = write_log(small, tmp_path / "b")
    write_log({**small, "seed": small["seed"] + 1}, tmp_path / "c")
    assert first.load().count() > 0
    assert _file_contents(tmp_path / "a") == _file_contents(tmp_path / "b")
    assert _file_contents(tmp_path / "a") != _file_contents(tmp_path / "c")
    assert second.load().count() == first.load().count()


def test_anonymous_rows_have_no_user(events: DataFrame):
    anonymous = F.col("auth").isin("Logged Out", "Guest")
    assert _count(events, anonymous) > 0
    assert _count(events, anonymous & (F.col("userId") != "")) == 0
    for field in _USER_FIELDS:
        assert _count(events, anonymous & F.col(field).isNotNull()) == 0
        assert _count(events, ~anonymous & F.col(field).isNull()) == 0
    assert _count(events, ~anonymous & (F.col("userId") == "")) == 0
    assert _count(events, F.col("level").isNull()) == 0


def test_pages_status_and_song_fields(events: DataFrame):
    assert _count(events, ~F.col("page").isin(sorted(KNOWN_PAGES))) == 0
    http = F.create_map(
        *[F.lit(x) for page, (m, s) in PAGE_HTTP.items() for x in (page, f"{m} {s}")]
    )
    method_status = F.concat_ws(" ", "method", F.col("status").cast("string"))
    assert _count(events, http[F.col("page")] != method_status) == 0
    assert set(PAGE_HTTP[p][1] for p in PAGE_HTTP) == {200, 307, 404}
    song = F.col("page") == "NextSong"
    for field in ("artist", "song", "length"):
        assert _count(events, song & F.col(field).isNull()) == 0
        assert _count(events, ~song & F.col(field).isNotNull()) == 0


def test_cancellation_auth_and_nothing_after(events: DataFrame):
    confirmation = F.col("page") == "Cancellation Confirmation"
    assert _count(events, (F.col("auth") == "Cancelled") != confirmation) == 0
    last = (
        events.where(F.col("userId") != "")
        .groupBy("userId")
        .agg(
            F.max("ts").alias("last_ts"),
            F.max(F.when(confirmation, F.col("ts"))).alias("cancel_ts"),
        )
    )
    assert _count(last, F.col("cancel_ts").isNotNull()) > 0
    assert _count(last, F.col("cancel_ts") < F.col("last_ts")) == 0


def test_session_order_levels_and_gateways(events: DataFrame):
    known = events.where(F.col("userId") != "")
    by_user = Window.partitionBy("userId").orderBy("ts", "itemInSession")
    steps = known.select(
        "*",
        F.lag("page").over(by_user).alias("previous_page"),
        F.lag("sessionId").over(by_user).alias("previous_session"),
        F.lag("itemInSession").over(by_user).alias("previous_item"),
        F.lead("level").over(by_user).alias("next_level"),
    )
    same_session = F.col("sessionId") == F.col("previous_session")
    assert (
        _count(steps, same_session & (F.col("itemInSession") <= F.col("previous_item")))
        == 0
    )
    assert (
        _count(
            steps, (F.col("page") == "Submit Upgrade") & (F.col("next_level") != "paid")
        )
        == 0
    )
    assert (
        _count(
            steps,
            (F.col("page") == "Submit Downgrade") & (F.col("next_level") != "free"),
        )
        == 0
    )
    cancels = steps.where(F.col("page") == "Cancel")
    assert cancels.count() > 0
    assert _count(cancels, ~F.col("previous_page").isin(*CANCEL_GATEWAYS)) == 0


def test_sessions_registration_period_and_user_agents(
    events: DataFrame, simulation_params: dict[str, Any]
):
    shared = (
        events.where(F.col("userId") != "")
        .groupBy("sessionId")
        .agg(F.countDistinct("userId").alias("users"))
    )
    assert _count(shared, F.col("users") > 1) > 0
    users = (
        events.where(F.col("userId") != "")
        .groupBy("userId")
        .agg(
            F.min("ts").alias("first_ts"), F.first("registration").alias("registration")
        )
    )
    assert users.count() == simulation_params["n_users"]
    assert _count(users, F.col("registration") >= F.col("first_ts")) == 0
    start = epoch_seconds(simulation_params["start"]) * 1000
    end = epoch_seconds(simulation_params["end"]) * 1000
    assert _count(events, (F.col("ts") < start) | (F.col("ts") >= end)) == 0
    assert _count(events, F.col("userAgent").startswith('"')) > 0


def test_calibration_within_published_tolerances(calibration: dict):
    failed = [check for check in calibration["checks"] if not check["passed"]]
    assert failed == []
    assert calibration["passed"]
    figures = {check["figure"] for check in calibration["checks"]}
    assert {"total rows", "users who cancel", "users who submit a downgrade"} <= figures
    assert "songs per session, paid / free" in figures


def test_truth_matches_the_log(
    default_log: DataFrame, calibration: dict, simulation_params: dict[str, Any]
):
    truth = build_simulation_truth(default_log, simulation_params)
    assert truth.count() == simulation_params["n_users"]
    assert truth.select("user_id").distinct().count() == simulation_params["n_users"]
    checks = {check["figure"]: check["simulated"] for check in calibration["checks"]}
    assert (
        truth.where(F.col("cancellation_time").isNotNull()).count()
        == checks["users who cancel"]
    )
    assert (
        truth.where(F.col("first_downgrade_time").isNotNull()).count()
        == checks["users who submit a downgrade"]
    )
    churned = truth.where(F.col("churn_type").isNotNull())
    assert churned.where(F.col("churn_time").isNull()).count() == 0
    # Churn is spread over the whole period, not bunched at one end.
    weeks = churned.select(F.weekofyear("churn_time").alias("week")).distinct().count()
    assert weeks >= 8


def test_churners_degrade_before_churning(
    events: DataFrame, default_log: DataFrame, simulation_params: dict[str, Any]
):
    """In the 3 weeks before churn (churn session excluded) churners give more thumbs
    down per song and come back less often than earlier in the period."""
    truth = build_simulation_truth(default_log, simulation_params)
    churned = truth.where(F.col("churn_type").isNotNull()).select(
        F.col("user_id").alias("userId"),
        (F.unix_millis("churn_time")).alias("churn_ms"),
    )
    day_ms = 86_400_000
    start_ms = epoch_seconds(simulation_params["start"]) * 1000
    before = (
        events.where(F.col("userId") != "")
        .join(churned, "userId")
        .where(F.col("ts") < F.col("churn_ms"))
        .withColumn("late", F.col("ts") >= F.col("churn_ms") - 21 * day_ms)
    )
    churn_sessions = before.groupBy("userId").agg(
        F.max("sessionId").alias("last_session")
    )
    before = before.join(churn_sessions, "userId").where(
        F.col("sessionId") != F.col("last_session")
    )
    windows = churned.select(
        F.sum(F.least(F.lit(21.0), (F.col("churn_ms") - start_ms) / day_ms)).alias(
            "late"
        ),
        F.sum(
            F.greatest(F.lit(0.0), (F.col("churn_ms") - start_ms) / day_ms - 21)
        ).alias("early"),
    ).first()
    figures = {
        row["late"]: row
        for row in before.groupBy("late")
        .agg(
            (
                F.sum((F.col("page") == "Thumbs Down").cast("double"))
                / F.sum((F.col("page") == "NextSong").cast("double"))
            ).alias("thumbs_down_per_song"),
            F.countDistinct("userId", "sessionId").alias("sessions"),
        )
        .collect()
    }
    late, early = figures[True], figures[False]
    assert late["thumbs_down_per_song"] > early["thumbs_down_per_song"] * 1.05
    assert late["sessions"] / windows["late"] < early["sessions"] / windows["early"]


def test_kedro_run_writes_log_truth_and_calibration(spark, tmp_path: Path):
    params = {"simulation": {"n_users": 20}}
    run_pipeline("simulation", tmp_path, params)
    lines = load_dataset("simulated_events", tmp_path, params)
    truth = load_dataset("simulation_truth", tmp_path, params)
    report = load_dataset("simulation_calibration", tmp_path, params)
    # read back as raw lines: each line with the part file it came from
    assert lines.columns == ["value", "source_file"] and lines.count() > 0
    assert truth.count() == 20
    assert report["parameters"]["n_users"] == 20
    assert list((tmp_path / "01_raw" / "simulated_events").glob("part-*.gz"))
