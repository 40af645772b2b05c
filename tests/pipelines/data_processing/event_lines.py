"""Raw event lines for the data_processing tests, built from one real-looking event."""

from __future__ import annotations

import json
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from sparkify_kedro.pipelines.data_processing.nodes import (
    build_clean_events,
    drop_duplicate_events,
    parse_event_lines,
)

BASE_EVENT = {
    "ts": 1538352117000,
    "userId": "30",
    "sessionId": 29,
    "page": "NextSong",
    "auth": "Logged In",
    "method": "PUT",
    "status": 200,
    "level": "paid",
    "itemInSession": 50,
    "location": "Bakersfield, CA",
    "userAgent": "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "lastName": "Freeman",
    "firstName": "Colin",
    "registration": 1538173362000,
    "gender": "M",
    "artist": "Martha Tilston",
    "song": "Rockpools",
    "length": 277.89016,
}


def event_line(**changes) -> str:
    """A JSON line of BASE_EVENT with fields changed (None = JSON null) or removed (...)."""
    event = {**BASE_EVENT, **changes}
    return json.dumps(
        {k: v for k, v in event.items() if v is not ...}, ensure_ascii=False
    )


#: 2018-10-01T00:01:57Z, the first event of BASE_EVENT.
BASE_TS = BASE_EVENT["ts"]
DATA_PROCESSING = {
    "plausible_time_range": {"earliest": "2000-01-01", "latest": "2050-01-01"},
    "longest_song_seconds": 86400,
}


def lines_frame(
    spark: SparkSession, lines: list[str], source_file: str = "file:/log/events.json"
) -> DataFrame:
    return spark.createDataFrame(
        [(line, source_file) for line in lines], "value string, source_file string"
    )


def parse_frame(spark: SparkSession, lines: list[str]) -> DataFrame:
    """``parse_event_lines`` of ``lines``, materialised (a filter on the unmaterialised
    rows of a few lines plans slower than they compute)."""
    return parse_event_lines(
        lines_frame(spark, lines), DATA_PROCESSING
    ).localCheckpoint()


def parse(spark: SparkSession, lines: list[str]) -> list[dict]:
    return [row.asDict() for row in parse_frame(spark, lines).collect()]


def parse_log(log: DataFrame) -> DataFrame:
    """``parse_event_lines`` of a log of lines (column ``value``, e.g. the simulator's)."""
    return parse_event_lines(
        log.withColumn("source_file", F.lit("file:/log/simulated.json")),
        DATA_PROCESSING,
    )


def observed_books(event_lines: DataFrame) -> dict:
    """``line_books`` as the write of ``kept_events`` observes them (to the ``noop`` sink)."""
    kept, line_books, _ = build_clean_events(event_lines)
    kept.write.format("noop").mode("overwrite").save()
    return dict(line_books.get)


def clean_and_books(event_lines: DataFrame) -> tuple[DataFrame, dict, dict, dict]:
    """``build_clean_events`` then ``drop_duplicate_events`` of ``event_lines``, as the
    pipeline runs them: the kept events written (to Spark's ``noop`` sink, which fills the
    observed books), then the days ``drop_duplicate_events`` returns put in place of their
    own, as its dynamic partition overwrite does. Returns the clean events,
    ``line_books``, ``clean_event_profile`` and ``duplicate_events``."""
    kept, line_books, profile = build_clean_events(event_lines)
    kept.write.format("noop").mode("overwrite").save()
    rewritten_days, duplicate_events = drop_duplicate_events(kept, dict(profile.get))
    days = [date.fromisoformat(day) for day in duplicate_events["days_rewritten"]]
    clean = kept.where(~F.col("event_date").isin(days)).unionByName(rewritten_days)
    return clean, dict(line_books.get), dict(profile.get), duplicate_events
