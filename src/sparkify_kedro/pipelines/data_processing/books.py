"""The books of ``data_processing``, as aggregates a Spark action observes on its way.

``DataFrame.observe`` computes them during the write of ``clean_events``, the one pass over
the raw text: no Spark job of their own. Column expressions only; no Spark action, except
in :func:`input_files` for a frame built in memory.

The books also keep the first quarantined lines whole, with their reasons, as the rules
gave them in that pass: an input with few bad lines (a daily export, a test) then has its
quarantine without a query of its own, whose planning of the rules cost a 4-line input 23 s
(issue #36). The bound is on lines and bytes, never on the size of the log: each task holds
at most :data:`KEPT_LINES` of at most :data:`KEPT_LINE_BYTES` each, and so does the driver.
"""

from __future__ import annotations

import re
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.events import CLEAN_EVENT_COLUMNS
from sparkify_kedro.pipelines.data_processing.line_rules import (
    OK,
    OUTCOMES,
    QUARANTINED,
)

#: The column that gives each line its place in reading order (partition, then row), added
#: to the lines before they are observed: a nondeterministic expression inside an observed
#: aggregate is not initialised, and fails the task.
LINE_POSITION = "line_position"
#: How many quarantined lines the books keep whole, and the longest line kept (a real
#: event is about 400 bytes): a task's share of the books stays under 2 MiB.
KEPT_LINES = 1_000
KEPT_LINE_BYTES = 2_048
#: The columns of ``quarantined_events``, as the books keep them.
QUARANTINE_COLUMNS = ("raw_line", "reason", "source_file")


def input_files(lines: DataFrame) -> list[str]:
    """The files ``lines`` were read from, named as ``source_file`` names them.

    Spark lists them from its file index (no job); a frame built in memory has none listed,
    and its few distinct ``source_file`` values are collected instead.
    """
    listed = lines.inputFiles()
    if not listed:
        return sorted(
            row[0] for row in lines.select("source_file").distinct().collect()
        )
    # The file index writes a local path file:///x, the _metadata column file:/x.
    return sorted(re.sub(r"^file:///", "file:/", name) for name in listed)


def line_books(files: list[str]) -> list[Column]:
    """Aggregates over every line: lines read, lines per outcome, lines and quarantined
    lines per file, kept lines whose ``ts``/``registration`` was converted from seconds,
    and the first quarantined lines in reading order (:func:`quarantined_lines`).

    The lines need a :data:`LINE_POSITION` column."""
    status, reason = F.col("record_status"), F.col("reason")
    kept = status == OK
    keepable = (status == QUARANTINED) & (F.octet_length("raw_line") <= KEPT_LINE_BYTES)
    # The file's position in ``files``, found once per line (file names are long and alike:
    # comparing each line's name with every file, twice, cost more than the rest of the books).
    file_number = F.array_position(
        F.array(*[F.lit(name) for name in files]), F.col("source_file")
    )
    return [
        F.count(F.lit(1)).alias("lines"),
        F.array(
            *[
                F.struct(
                    F.lit(fate).alias("record_status"),
                    F.lit(why).cast("string").alias("reason"),
                    F.count_if((status == fate) & reason.eqNullSafe(why)).alias(
                        "lines"
                    ),
                )
                for fate, why in OUTCOMES
            ]
        ).alias("outcomes"),
        F.array(
            *[
                F.struct(
                    F.lit(name).alias("file"),
                    F.count_if(file_number == number).alias("lines"),
                    F.count_if((status == QUARANTINED) & (file_number == number)).alias(
                        "quarantined"
                    ),
                )
                for number, name in enumerate(files, start=1)
            ],
        ).alias("files"),
        *[
            F.count_if(kept & F.col(f"{name}_from_seconds")).alias(
                f"{name}_from_seconds"
            )
            for name in ("ts", "registration")
        ],
        F.min_by(
            F.struct(*QUARANTINE_COLUMNS),
            F.when(keepable, F.col(LINE_POSITION)),
            KEPT_LINES,
        ).alias("first_quarantined_lines"),
    ]


def quarantined_lines(books: dict[str, Any]) -> list[tuple] | None:
    """Every quarantined line (``raw_line``, ``reason``, ``source_file``) in reading order,
    as the books kept it; ``None`` when they could not keep them all (more than
    :data:`KEPT_LINES`, or a line longer than :data:`KEPT_LINE_BYTES`)."""
    kept = books["first_quarantined_lines"] or []  # null when not one line was kept
    quarantined = sum(file["quarantined"] for file in books["files"])
    return [tuple(line) for line in kept] if len(kept) == quarantined else None


def _utc_isoformat(timestamp: Column) -> Column:
    """ISO 8601 text of a timestamp; the session time zone is UTC (conf/base/spark.yml)."""
    return F.date_format(timestamp, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")


def clean_event_profile() -> list[Column]:
    """Aggregates over the kept events: rows, first and last event, nulls per column, rows
    of unknown pages."""
    return [
        F.count(F.lit(1)).alias("rows"),
        _utc_isoformat(F.min("ts")).alias("first_event_time"),
        _utc_isoformat(F.max("ts")).alias("last_event_time"),
        F.count_if(~F.col("is_known_page")).alias("unknown_page_rows"),
        F.struct(
            *[
                F.count_if(F.col(name).isNull()).alias(name)
                for name in CLEAN_EVENT_COLUMNS
            ]
        ).alias("nulls_per_column"),
    ]
