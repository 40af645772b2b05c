"""The books of ``data_processing``, as aggregates a Spark action observes on its way.

``DataFrame.observe`` computes them during the write of ``clean_events``, the one pass over
the raw text: no Spark job of their own. Column expressions only; no Spark action, except
in :func:`input_files` for a frame built in memory.
"""

from __future__ import annotations

import re

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.events import CLEAN_EVENT_COLUMNS
from sparkify_kedro.pipelines.data_processing.line_rules import (
    OK,
    OUTCOMES,
    QUARANTINED,
)


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
    lines per file, kept lines whose ``ts``/``registration`` was converted from seconds."""
    status, reason = F.col("record_status"), F.col("reason")
    kept = status == OK
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
    ]


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
