"""Nodes of the ``data_processing`` pipeline: raw event-log lines to clean, typed events.

The flow keeps the books: every line read ends up in exactly one of three places, so that
``lines read = rows kept + rows dropped + lines quarantined`` always holds.

- *kept*: a logged-in event, typed, in ``clean_events``;
- *dropped*, counted by reason: rows that belong to no user (Logged Out, Guest, empty or
  missing ``userId``), blank lines, and exact duplicates of a kept event;
- *quarantined*, verbatim with the reason: lines that are not exactly one JSON object, or
  lack a required field, or hold a value that cannot be read exactly or that no real event
  holds (``line_rules.py``).

An input with no kept event stops the run before anything is written.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from sparkify_kedro.events import (
    CLEAN_EVENT_SCHEMA,
    KNOWN_PAGES,
    RAW_TO_CLEAN_NAME,
    TEXT_FIELDS_TO_REPAIR,
)
from sparkify_kedro.pipelines.data_processing import books
from sparkify_kedro.pipelines.data_processing.json_reading import strip_whitespace
from sparkify_kedro.pipelines.data_processing.line_rules import (
    DROPPED,
    OK,
    QUARANTINED,
    PlausibleValues,
    classify_lines,
)
from sparkify_kedro.spark_errors import explained_read_failures

DUPLICATE_EVENT = "duplicate_event"
#: The columns that tell one event from another: who, which session, where in it, when.
#: ``drop_duplicate_events`` reads these four, not the whole row, to find the days that may
#: hold a duplicate (reading every column of the full log cost most of its 36 s).
EVENT_KEY = ("ts", "user_id", "session_id", "item_in_session")
_MOJIBAKE_ROUNDS = 2  # text seen encoded twice over (BjÃÂ¶rk) needs two rounds
_FILES_NAMED_IN_ERRORS = 3


class NoReadableEventError(ValueError):
    """The input holds no line that is a logged-in event: nothing is written."""


def _strip_wrapping_quotes(text: Column) -> Column:
    """``"Mozilla/5.0 ..."`` (quotes inside the value, as some exports write) -> ``Mozilla/5.0 ...``."""
    return F.regexp_replace(text, r'^"(.*)"$', "$1")


def _normalised_user_id(text: Column) -> Column:
    """A numeric id written as a float (``30.0``) -> ``30``; other ids unchanged."""
    return F.regexp_replace(text, r"^(\d+)\.0+$", "$1")


def _no_event_message(classified: DataFrame) -> str:
    """What the input holds, when not one of its lines is a kept event.

    One pass over the lines: per reason, the lines, the files they came from and the first
    quarantined line in reading order (``monotonically_increasing_id`` grows with the
    partition, then the row).
    """
    quarantined_at = F.when(F.col("record_status") == QUARANTINED, F.col("position"))
    outcomes = (
        classified.withColumn("position", F.monotonically_increasing_id())
        .groupBy("reason")
        .agg(
            F.count(F.lit(1)).alias("count"),
            F.slice(
                F.array_sort(F.collect_set("source_file")),
                1,
                _FILES_NAMED_IN_ERRORS + 1,
            ).alias("files"),
            F.min(quarantined_at).alias("first_quarantined_at"),
            F.min_by("line", quarantined_at).alias("first_quarantined_line"),
        )
        .orderBy(F.desc("count"), "reason")
        .collect()
    )
    files = sorted({file for row in outcomes for file in row["files"]})
    named = ", ".join(files[:_FILES_NAMED_IN_ERRORS]) + (
        " and more files" if len(files) > _FILES_NAMED_IN_ERRORS else ""
    )
    lines = sum(row["count"] for row in outcomes)
    breakdown = ", ".join(f"{row['count']} {row['reason']}" for row in outcomes)
    quarantined = [row for row in outcomes if row["first_quarantined_at"] is not None]
    first_unreadable = min(
        quarantined, key=lambda row: row["first_quarantined_at"], default=None
    )
    example = (
        f"; the first unreadable line: "
        f"{first_unreadable['first_quarantined_line'][:80]!r}"
        if first_unreadable
        else ""
    )
    return (
        f"No readable event in {named or 'the input'}: {lines} lines read, none of them "
        f"a logged-in event ({breakdown}){example}. Nothing was written."
    )


def parse_event_lines(
    raw_lines: DataFrame, data_processing: dict[str, Any]
) -> DataFrame:
    """Parse each raw JSON line into typed event columns and decide its fate.

    Input: one row per line, columns ``value`` and ``source_file``. Output: one row per
    line with the typed columns of ``clean_events`` (snake_case), ``record_status`` (ok /
    dropped / quarantined), ``reason``, ``source_file``, ``ts_from_seconds`` and
    ``registration_from_seconds`` and, for quarantined lines only, the verbatim
    ``raw_line``. A line that cannot be read becomes a quarantined row with a reason naming
    the field, never an error (rules: ``line_rules.py`` and the pipeline README).

    Raises ``NoReadableEventError`` when no line is a kept event (a file of blank lines, a
    CSV given by mistake), before any output is written. The check stops at the first kept
    event, so on a real log it reads a few lines.
    """
    plausible = PlausibleValues.from_params(data_processing)
    classified = classify_lines(raw_lines, plausible)
    # Spark would push a filter on record_status below the projections that compute it,
    # copying every rule into the filter (a 2.5 MiB task, seconds of planning); the
    # partition id, a nondeterministic column, keeps the filter above them.
    kept = classified.select(
        "record_status", F.spark_partition_id().alias("partition")
    ).where(F.col("record_status") == OK)
    with explained_read_failures():
        if not kept.take(1):
            raise NoReadableEventError(_no_event_message(classified))

    event = F.col("first_value")
    clean_values = {
        "ts": F.timestamp_millis("ts_value"),
        "user_id": _normalised_user_id(F.col("userId_text")),
        "session_id": F.col("sessionId_value"),
        "page": F.col("page_text"),
        "auth": F.col("auth_text"),
        "method": strip_whitespace(event["method"]),
        "status": F.col("status_value").cast("int"),
        "level": strip_whitespace(event["level"]),
        "item_in_session": F.col("itemInSession_value"),
        "location": event["location"],
        "user_agent": _strip_wrapping_quotes(event["userAgent"]),
        "last_name": event["lastName"],
        "first_name": event["firstName"],
        "registration": F.timestamp_millis("registration_value"),
        "gender": strip_whitespace(event["gender"]),
        "artist": event["artist"],
        "song": event["song"],
        "length": F.col("length_value"),
    }
    return classified.select(
        "record_status",
        "reason",
        F.when(F.col("record_status") == QUARANTINED, F.col("line")).alias("raw_line"),
        "source_file",
        "ts_from_seconds",
        "registration_from_seconds",
        *[value.alias(name) for name, value in clean_values.items()],
    )


def repair_double_encoded_utf8(text: Column, rounds: int = _MOJIBAKE_ROUNDS) -> Column:
    """Undo UTF-8 text that was decoded as Latin-1 and re-encoded (``BjÃ¶rk`` -> ``Björk``).

    A round applies only when the text holds a non-ASCII character, is all Latin-1 and its
    Latin-1 bytes are valid UTF-8; real Latin-1 text such as ``Björk`` fails that test and
    is left alone. ASCII text, nearly all of it, is told apart by its length in bytes alone,
    before any regular expression runs. A further round is tried only on text the round
    before repaired: unchanged text would fail the same test again.
    """
    if rounds == 0:
        return text
    latin1_bytes = F.encode(text, "ISO-8859-1")
    repairable = (
        (F.octet_length(text) > F.length(text))
        & text.rlike(r"^[\x00-\xff]*$")
        & F.is_valid_utf8(latin1_bytes)
    )
    repaired = repair_double_encoded_utf8(F.decode(latin1_bytes, "UTF-8"), rounds - 1)
    return F.when(repairable, repaired).otherwise(text)


def build_clean_events(
    event_lines: DataFrame,
) -> tuple[DataFrame, Observation, Observation]:
    """The kept events: typed, text repaired, unknown pages flagged; and the books of every
    line, observed while the events are written.

    Output columns and types are ``CLEAN_EVENT_SCHEMA`` (see ``sparkify_kedro.events``),
    ``event_date`` being the UTC date of ``ts``. A page outside the 22 known ones is kept with
    ``is_known_page = false``. Each task writes the lines it read, day by day: no shuffle, so
    an exact duplicate is still there (``drop_duplicate_events`` removes it). The two
    ``Observation`` s (``line_books``: lines per outcome and per file;
    ``clean_event_profile``: counts over the kept events) are filled by the write of the
    returned DataFrame, the one pass over the raw text.
    """
    line_books, profile = Observation("line_books"), Observation("clean_event_profile")
    positioned = event_lines.select(
        "*", F.monotonically_increasing_id().alias(books.LINE_POSITION)
    )
    observed = positioned.observe(
        line_books, *books.line_books(books.input_files(event_lines))
    )
    # The partition id, a nondeterministic column, keeps the filter above the observation
    # and the rules (see parse_event_lines).
    kept = observed.select("*", F.spark_partition_id().alias("partition")).where(
        F.col("record_status") == OK
    )
    repaired = kept.select(
        *[
            repair_double_encoded_utf8(F.col(name)).alias(name)
            if name in TEXT_FIELDS_TO_REPAIR
            else F.col(name)
            for name in RAW_TO_CLEAN_NAME.values()
        ]
    )
    flagged = repaired.withColumns(
        {
            "event_date": F.to_date("ts"),
            "is_known_page": F.col("page").isin(sorted(KNOWN_PAGES)),
        }
    )
    clean = flagged.select(
        [F.col(field.name).cast(field.dataType) for field in CLEAN_EVENT_SCHEMA]
    )
    return clean.observe(profile, *books.clean_event_profile()), line_books, profile


def drop_duplicate_events(
    kept_events: DataFrame, clean_event_profile: dict[str, Any]
) -> tuple[DataFrame, dict[str, Any]]:
    """The days of ``kept_events`` that hold an exact duplicate, each without it; and the
    count: ``rows_removed``, ``days_rewritten``, ``rows_kept`` (the rows observed while
    ``kept_events`` was written, less those removed).

    A narrow pass reads only the columns that tell events apart (:data:`EVENT_KEY`),
    hashes them (64 bits) and counts each (day, hash). Two copies of an event agree on
    every column, these included, so a day where no hash repeats holds no duplicate. Only
    the days where one does (an exact duplicate; or two events alike on the key alone, or a
    hash collision, which cost a rewrite and drop nothing) are deduplicated on every column
    and returned, materialised: ``clean_events`` saves them over their own days of the files
    ``kept_events`` wrote (dynamic partition overwrite), leaving every other day as it was.
    On a log without a duplicate, the usual case, nothing is returned and nothing rewritten.
    """
    key_hash = F.xxhash64(*EVENT_KEY).alias("key_hash")
    days = sorted(
        row["event_date"]
        for row in kept_events.groupBy("event_date", key_hash)
        .count()
        .where(F.col("count") > 1)
        .select("event_date")
        .distinct()
        .collect()
    )
    if not days:
        empty = kept_events.sparkSession.createDataFrame([], kept_events.schema)
        return empty, _duplicate_count(clean_event_profile, 0, [])
    of_those_days = kept_events.where(F.col("event_date").isin(days))
    # Materialised before the save replaces the very files it was read from.
    distinct = of_those_days.dropDuplicates().localCheckpoint()
    removed = of_those_days.count() - distinct.count()
    return distinct, _duplicate_count(clean_event_profile, removed, days)


def _duplicate_count(
    clean_event_profile: dict[str, Any], removed: int, days: list
) -> dict[str, Any]:
    return {
        "rows_removed": removed,
        "days_rewritten": [day.isoformat() for day in days],
        "rows_kept": clean_event_profile["rows"] - removed,
    }


def extract_quarantined_lines(
    event_lines: DataFrame, line_books: dict[str, Any]
) -> DataFrame:
    """The lines that could not be read as an event: ``raw_line`` verbatim, ``reason`` and
    the ``source_file`` it came from, in reading order.

    They are the lines ``line_books`` kept, with the reasons the rules gave them in the
    write of ``kept_events``, when it could keep them all (up to 1,000 lines: none is read
    or parsed again, and the rules are not planned again). Otherwise only the files that
    ``line_books`` found quarantined lines in are read again.
    """
    columns = list(books.QUARANTINE_COLUMNS)
    kept = books.quarantined_lines(line_books)
    if kept is not None:
        schema = event_lines.select(columns).schema
        return event_lines.sparkSession.createDataFrame(kept, schema)
    files = [file["file"] for file in line_books["files"] if file["quarantined"]]
    of_those_files = event_lines.where(F.col("source_file").isin(files))
    return (
        of_those_files.select("*", F.spark_partition_id().alias("partition"))
        .where(F.col("record_status") == QUARANTINED)
        .select(columns)
    )


def build_data_quality_report(
    line_books: dict[str, Any],
    clean_event_profile: dict[str, Any],
    duplicate_events: dict[str, Any],
    clean_events: DataFrame,
) -> dict[str, Any]:
    """What happened to every line, file by file, and a profile of the kept events.

    The counts were observed while the kept events were written (the profile's nulls and
    unknown-page rows count an exact duplicate too, before ``drop_duplicate_events``); two
    narrow reads of ``clean_events`` add the distinct users and the rows of each unknown
    page. ``input_files`` lists every file read with its line count; ``values_converted``
    counts the kept lines whose ``ts`` or ``registration`` was written in seconds and
    converted.
    """
    outcomes = {
        (row["record_status"], row["reason"]): row["lines"]
        for row in line_books["outcomes"]
    }
    users = clean_events.agg(F.countDistinct("user_id")).first()[0]
    unknown_pages = {
        row["page"]: row["count"]
        for row in clean_events.where(~F.col("is_known_page"))
        .groupBy("page")
        .count()
        .orderBy(F.desc("count"), "page")
        .limit(100)
        .collect()
    }
    rows_kept = duplicate_events["rows_kept"]
    dropped = {
        reason: n for (status, reason), n in outcomes.items() if status == DROPPED and n
    }
    dropped[DUPLICATE_EVENT] = outcomes[(OK, None)] - rows_kept
    quarantined = {
        reason: n
        for (status, reason), n in outcomes.items()
        if status == QUARANTINED and n
    }
    lines_read = line_books["lines"]
    rows_dropped = sum(dropped.values())
    lines_quarantined = sum(quarantined.values())
    return {
        "lines_read": lines_read,
        "rows_kept": rows_kept,
        "rows_dropped": rows_dropped,
        "rows_dropped_by_reason": dict(sorted(dropped.items())),
        "lines_quarantined": lines_quarantined,
        "lines_quarantined_by_reason": dict(sorted(quarantined.items())),
        "books_balance": lines_read == rows_kept + rows_dropped + lines_quarantined
        and lines_read == sum(file["lines"] for file in line_books["files"]),
        "input_files": [
            {"file": file["file"], "lines": file["lines"]}
            for file in line_books["files"]
        ],
        "values_converted": {
            f"{name}_from_seconds": line_books[f"{name}_from_seconds"]
            for name in ("ts", "registration")
        },
        "distinct_users": users,
        "first_event_time": clean_event_profile["first_event_time"],
        "last_event_time": clean_event_profile["last_event_time"],
        "nulls_per_column": clean_event_profile["nulls_per_column"].asDict(),
        "unknown_page_rows": clean_event_profile["unknown_page_rows"],
        "unknown_pages": unknown_pages,
    }
