"""Nodes of the ``data_processing`` pipeline: raw event-log lines to clean, typed events.

The flow keeps the books: every line read ends up in exactly one of three places, so that
``lines read = rows kept + rows dropped + lines quarantined`` always holds.

- *kept*: a logged-in event, typed, in ``clean_events``;
- *dropped*, counted by reason: rows that belong to no user (Logged Out, Guest, empty or
  missing ``userId``), blank lines, and exact duplicates of a kept event;
- *quarantined*, verbatim with the reason: lines that are not a JSON object, or whose
  timestamp, page, session or a numeric field cannot be read.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.events import (
    ANONYMOUS_AUTH,
    CLEAN_EVENT_COLUMNS,
    CLEAN_EVENT_SCHEMA,
    KNOWN_PAGES,
    RAW_FIELD_NAMES,
    RAW_TO_CLEAN_NAME,
    TEXT_FIELDS_TO_REPAIR,
)

OK, DROPPED, QUARANTINED = "ok", "dropped", "quarantined"
DUPLICATE_EVENT = "duplicate_event"

_CORRUPT = "_corrupt_record"
# Every field is read as text first, so that a value in any JSON dialect (a number as a
# string, a long written as a float, a numeric userId) survives and is typed afterwards.
_LENIENT_LINE_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in RAW_FIELD_NAMES]
    + [T.StructField(_CORRUPT, T.StringType())]
)
_INTEGER_FIELDS = ("ts", "sessionId", "status", "itemInSession", "registration")
_REQUIRED_FIELDS = ("ts", "page", "sessionId")
_MOJIBAKE_ROUNDS = 2  # text seen encoded twice over (BjÃÂ¶rk) needs two rounds


def _as_integer(text: Column) -> Column:
    """Text of a JSON number (``1538352117000``, ``1540919166796.0``, ``"42"``) as a long.

    Null when the text is not a whole number.
    """
    number = text.try_cast(T.DoubleType())
    return F.when(number == F.floor(number), number.cast(T.LongType()))


def _strip_wrapping_quotes(text: Column) -> Column:
    """``"Mozilla/5.0 ..."`` (quotes inside the value, as some exports write) -> ``Mozilla/5.0 ...``."""
    return F.regexp_replace(text, r'^"(.*)"$', "$1")


def _numeric_user_id(text: Column) -> Column:
    """A numeric userId written as a float (``30.0``) -> ``30``; other ids unchanged."""
    return F.regexp_replace(F.trim(text), r"^(\d+)\.0+$", "$1")


def _classify(
    event: dict[str, Column], typed: dict[str, Column], blank: Column
) -> Column:
    """A struct (record_status, reason) for one line, the first matching rule winning."""
    rules: list[tuple[Column, str, str]] = [
        (blank, DROPPED, "blank_line"),
        (event[_CORRUPT].isNotNull(), QUARANTINED, "malformed_json"),
    ]
    rules += [
        (
            event[name].isNull() | (F.trim(event[name]) == ""),
            QUARANTINED,
            f"missing_{name}",
        )
        for name in _REQUIRED_FIELDS
    ]
    rules += [
        (event[name].isNotNull() & typed[name].isNull(), QUARANTINED, f"invalid_{name}")
        for name in (*_INTEGER_FIELDS, "length")
    ]
    rules += [
        (
            event["auth"] == auth,
            DROPPED,
            auth.lower().replace(" ", "_"),
        )  # logged_out, guest
        for auth in sorted(ANONYMOUS_AUTH)
    ]
    rules += [
        (
            event["userId"].isNull() | (F.trim(event["userId"]) == ""),
            DROPPED,
            "missing_user_id",
        ),
    ]
    outcome = F.struct(
        F.lit(OK).alias("record_status"), F.lit(None).cast("string").alias("reason")
    )
    for condition, status, reason in reversed(rules):
        outcome = F.when(
            condition,
            F.struct(
                F.lit(status).alias("record_status"), F.lit(reason).alias("reason")
            ),
        ).otherwise(outcome)
    return outcome


def parse_event_lines(raw_lines: DataFrame) -> DataFrame:
    """Parse each raw JSON line into typed event columns and decide its fate.

    Input: one row per line, column ``value``. Output: one row per line with the typed
    columns of ``clean_events`` (snake_case), ``record_status`` (ok / dropped /
    quarantined), ``reason`` and, for quarantined lines only, the verbatim ``raw_line``.
    Parsing is permissive: a corrupt line becomes a quarantined row, never an error or a
    silent loss. Keys may be missing or in any order; ``registration`` may be a long or a
    float, ``userId`` a string or a number, ``userAgent`` wrapped in extra quotes.
    """
    parsed = raw_lines.select(
        F.col("value").alias("raw_line"),
        F.from_json(
            "value",
            _LENIENT_LINE_SCHEMA,
            {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT},
        ).alias("event"),
    )
    event = {name: F.col("event")[name] for name in (*RAW_FIELD_NAMES, _CORRUPT)}
    typed: dict[str, Column] = {
        name: _as_integer(event[name]) for name in _INTEGER_FIELDS
    }
    typed["length"] = event["length"].try_cast(T.DoubleType())

    clean_values = {
        "ts": F.timestamp_millis(typed["ts"]),
        "user_id": _numeric_user_id(event["userId"]),
        "session_id": typed["sessionId"],
        "page": F.trim(event["page"]),
        "auth": event["auth"],
        "method": event["method"],
        "status": typed["status"].cast(T.IntegerType()),
        "level": event["level"],
        "item_in_session": typed["itemInSession"],
        "location": event["location"],
        "user_agent": _strip_wrapping_quotes(event["userAgent"]),
        "last_name": event["lastName"],
        "first_name": event["firstName"],
        "registration": F.timestamp_millis(typed["registration"]),
        "gender": event["gender"],
        "artist": event["artist"],
        "song": event["song"],
        "length": typed["length"],
    }
    blank = F.trim(F.col("raw_line")) == ""
    classified = parsed.select(
        "*",
        _classify(event, typed, blank).alias("outcome"),
        *[value.alias(name) for name, value in clean_values.items()],
    )
    return classified.select(
        F.col("outcome.record_status").alias("record_status"),
        F.col("outcome.reason").alias("reason"),
        F.when(F.col("outcome.record_status") == QUARANTINED, F.col("raw_line")).alias(
            "raw_line"
        ),
        *clean_values.keys(),
    )


def extract_quarantined_lines(parsed_events: DataFrame) -> DataFrame:
    """The lines that could not be read as an event: ``raw_line`` verbatim and ``reason``."""
    return parsed_events.where(F.col("record_status") == QUARANTINED).select(
        "raw_line", "reason"
    )


def repair_double_encoded_utf8(text: Column, rounds: int = _MOJIBAKE_ROUNDS) -> Column:
    """Undo UTF-8 text that was decoded as Latin-1 and re-encoded (``BjÃ¶rk`` -> ``Björk``).

    A round applies only when the text is all Latin-1, holds a non-ASCII character and its
    Latin-1 bytes are valid UTF-8; real Latin-1 text such as ``Björk`` fails that test and
    is left alone.
    """
    for _ in range(rounds):
        latin1_bytes = F.encode(text, "ISO-8859-1")
        repairable = (
            text.rlike(r"^[\x00-\xff]*$")
            & text.rlike(r"[\x80-\xff]")
            & F.is_valid_utf8(latin1_bytes)
        )
        text = F.when(repairable, F.decode(latin1_bytes, "UTF-8")).otherwise(text)
    return text


def build_clean_events(parsed_events: DataFrame) -> DataFrame:
    """The kept events: typed, text repaired, exact duplicates removed, unknown pages flagged.

    Output columns and types are ``CLEAN_EVENT_SCHEMA`` (see ``sparkify_kedro.events``),
    ``event_date`` being the UTC date of ``ts``. A page outside the 22 known ones is kept with
    ``is_known_page = false``.
    """
    kept = parsed_events.where(F.col("record_status") == OK)
    repaired = kept.select(
        *[
            repair_double_encoded_utf8(F.col(name)).alias(name)
            if name in TEXT_FIELDS_TO_REPAIR
            else F.col(name)
            for name in RAW_TO_CLEAN_NAME.values()
        ]
    )
    distinct_events = repaired.dropDuplicates()
    flagged = distinct_events.withColumns(
        {
            "is_known_page": F.col("page").isin(sorted(KNOWN_PAGES)),
            "event_date": F.to_date("ts"),
        }
    )
    return flagged.select(
        [F.col(field.name).cast(field.dataType) for field in CLEAN_EVENT_SCHEMA]
    )


def _utc_isoformat(timestamp: Column) -> Column:
    """ISO 8601 text of a timestamp; the session time zone is UTC (conf/base/spark.yml)."""
    return F.date_format(timestamp, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")


def build_data_quality_report(
    parsed_events: DataFrame, clean_events: DataFrame
) -> dict[str, Any]:
    """Count what happened to every line, and profile the kept events.

    Three small aggregations (two over ``parsed_events``' outcome columns, one over
    ``clean_events``); only counts travel to the driver.
    """
    outcome_counts = {
        (row["record_status"], row["reason"]): row["count"]
        for row in parsed_events.groupBy("record_status", "reason").count().collect()
    }
    lines_read = sum(outcome_counts.values())
    parsed_ok = outcome_counts.get((OK, None), 0)

    profile = clean_events.agg(
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct("user_id").alias("users"),
        _utc_isoformat(F.min("ts")).alias("first_ts"),
        _utc_isoformat(F.max("ts")).alias("last_ts"),
        F.sum(F.when(~F.col("is_known_page"), 1).otherwise(0)).alias(
            "unknown_page_rows"
        ),
        *[
            F.sum(F.when(F.col(name).isNull(), 1).otherwise(0)).alias(f"nulls__{name}")
            for name in CLEAN_EVENT_COLUMNS
        ],
    ).first()
    unknown_pages = {
        row["page"]: row["count"]
        for row in clean_events.where(~F.col("is_known_page"))
        .groupBy("page")
        .count()
        .orderBy(F.desc("count"), "page")
        .limit(100)
        .collect()
    }

    rows_kept = profile["rows"]
    dropped = {
        reason: n for (status, reason), n in outcome_counts.items() if status == DROPPED
    }
    dropped[DUPLICATE_EVENT] = parsed_ok - rows_kept
    quarantined = {
        reason: n
        for (status, reason), n in outcome_counts.items()
        if status == QUARANTINED
    }
    rows_dropped = sum(dropped.values())
    lines_quarantined = sum(quarantined.values())
    return {
        "lines_read": lines_read,
        "rows_kept": rows_kept,
        "rows_dropped": rows_dropped,
        "rows_dropped_by_reason": dict(sorted(dropped.items())),
        "lines_quarantined": lines_quarantined,
        "lines_quarantined_by_reason": dict(sorted(quarantined.items())),
        "books_balance": lines_read == rows_kept + rows_dropped + lines_quarantined,
        "distinct_users": profile["users"],
        "first_event_time": profile["first_ts"],
        "last_event_time": profile["last_ts"],
        "nulls_per_column": {
            name: profile[f"nulls__{name}"] for name in CLEAN_EVENT_COLUMNS
        },
        "unknown_page_rows": profile["unknown_page_rows"] or 0,
        "unknown_pages": unknown_pages,
    }
