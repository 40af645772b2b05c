"""Tiny hand-made ``clean_events`` logs for the label and feature tests."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.events import CLEAN_EVENT_COLUMNS, CLEAN_EVENT_SCHEMA

MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.77.4 "
    "(KHTML, like Gecko) Version/7.0.5 Safari/537.77.4"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36"
)


def utc(text: str) -> datetime:
    """``"2018-10-06 10:00:00"`` (or without seconds) as an aware UTC datetime."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)


def event(
    user_id: str, ts: str, page: str = "NextSong", **fields: Any
) -> dict[str, Any]:
    """One event; a NextSong gets an artist and a 200 s length unless given."""
    row: dict[str, Any] = {"user_id": user_id, "ts": utc(ts), "page": page, **fields}
    if page == "NextSong":
        row.setdefault("artist", "Artist")
        row.setdefault("song", "Song")
        row.setdefault("length", 200.0)
    return row


def make_clean_events(
    spark: SparkSession,
    events: list[dict[str, Any]],
    profiles: dict[str, dict] | None = None,
) -> DataFrame:
    """A ``clean_events`` DataFrame (``CLEAN_EVENT_SCHEMA``) from event dicts.

    Missing fields come from the user's entry in ``profiles`` (registration as text), then
    from defaults: session 1, level paid, status 200, a Mac/Safari user in Kansas City.
    """
    profiles = profiles or {}
    rows = []
    for raw in events:
        profile = dict(profiles.get(raw["user_id"], {}))
        if "registration" in profile:
            profile["registration"] = utc(profile["registration"])
        row = {
            "session_id": 1,
            "auth": "Cancelled"
            if raw["page"] == "Cancellation Confirmation"
            else "Logged In",
            "method": "PUT",
            "status": 200,
            "level": "paid",
            "item_in_session": 0,
            "location": "Kansas City, MO-KS",
            "user_agent": MAC_SAFARI,
            "last_name": "Doe",
            "first_name": "Alex",
            "registration": utc("2018-09-01 00:00"),
            "gender": "F",
            "is_known_page": True,
            **profile,
            **raw,
        }
        row["event_date"] = row["ts"].date()
        rows.append(tuple(row.get(name) for name in CLEAN_EVENT_COLUMNS))
    return spark.createDataFrame(rows, CLEAN_EVENT_SCHEMA)


def collect_rows(frame: DataFrame, order_by: list[str]) -> list[dict[str, Any]]:
    """The rows of a small DataFrame as dicts, timestamps as "yyyy-MM-dd HH:mm:ss" UTC text."""
    formatted = frame.select(
        [
            F.date_format(field.name, "yyyy-MM-dd HH:mm:ss").alias(field.name)
            if isinstance(field.dataType, T.TimestampType)
            else F.col(field.name)
            for field in frame.schema
        ]
    )
    return [row.asDict() for row in formatted.orderBy(*order_by).collect()]
