"""The simulator's own churn probability of each labelled (user, cutoff) row, in Spark."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema

from sparkify_kedro.columns import KEYS
from sparkify_kedro.events import churn_pages
from sparkify_kedro.pipelines.simulation.ceiling.futures import ceiling_run
from sparkify_kedro.pipelines.simulation.generator import UserSimulator
from sparkify_kedro.pipelines.simulation.primitives import DAY

#: ``simulated_churn_probabilities``: one row per labelled (user_id, cutoff).
CHURN_PROBABILITY_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType(), nullable=False),
        T.StructField("cutoff", T.TimestampType(), nullable=False),
        T.StructField("churn_probability", T.DoubleType(), nullable=False),
        T.StructField("futures", T.IntegerType(), nullable=False),
    ]
)
_PROBABILITY_ARROW_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), False),
        pa.field("cutoff_seconds", pa.int64(), False),
        pa.field("churn_probability", pa.float64(), False),
        pa.field("futures", pa.int32(), False),
    ]
)
#: Tasks of ``simulate_churn_probabilities`` per core: users differ in cost, so several.
_CEILING_TASKS_PER_CORE = 8


def select_origin_rows(
    churn_labels: DataFrame, split_summary: dict[str, Any]
) -> DataFrame:
    """The labelled (user, cutoff) rows of every rolling-origin origin (the candidates'
    validation rows; the procedure's test rows are those after the first): the only rows
    whose probabilities the comparison reads (futures cost about 1 ms each)."""
    cutoffs = [
        datetime.fromisoformat(cutoff) for cutoff in split_summary["origin_cutoffs"]
    ]
    return churn_labels.where(F.col("cutoff").isin(cutoffs)).select(*KEYS)


def _probabilities_of_rows(
    parameters: dict[str, Any],
    pages: frozenset[str],
    horizon_seconds: int,
    n_futures: int,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """The churn probability of each (user_id, cutoff_seconds) row of a partition.

    The partition holds every row of its users: each user's stream is replayed once, for
    all their cutoffs. One output row per input row, in the input's order.
    """
    rows: list[tuple[str, int]] = []
    for batch in batches:
        rows.extend(
            zip(
                batch.column("user_id").to_pylist(),
                batch.column("cutoff_seconds").to_pylist(),
                strict=True,
            )
        )
    if not rows:
        return
    cutoffs_of: dict[str, set[int]] = {}
    for user, cutoff in rows:
        cutoffs_of.setdefault(user, set()).add(cutoff)
    simulator = UserSimulator(parameters)
    probability: dict[tuple[str, int], float] = {}
    for user, cutoffs in cutoffs_of.items():
        if not user.isdigit():
            raise ValueError(
                f"user_id {user!r} is not a simulated user's id: churn probabilities "
                f"exist only for a simulated log."
            )
        ordered = sorted(cutoffs)
        found = ceiling_run(
            simulator, int(user), ordered, horizon_seconds, pages, n_futures=n_futures
        ).probabilities
        probability.update(
            ((user, cutoff), p) for cutoff, p in zip(ordered, found, strict=True)
        )
    yield pa.RecordBatch.from_pydict(
        {
            "user_id": [user for user, _ in rows],
            "cutoff_seconds": [cutoff for _, cutoff in rows],
            "churn_probability": [probability[row] for row in rows],
            "futures": [n_futures] * len(rows),
        },
        schema=_PROBABILITY_ARROW_SCHEMA,
    )


def simulate_churn_probabilities(
    labelled_rows: DataFrame,
    simulation: dict[str, Any],
    churn_task: dict[str, Any],
    n_futures: int,
) -> DataFrame:
    """The simulator's own probability that each labelled user churns within the horizon.

    For each (``user_id``, ``cutoff``) of ``labelled_rows`` the user's stream is replayed
    as ``generate_events`` wrote it, and ``n_futures`` futures drawn from the cutoff
    (``futures.ceiling_run``) give the chance of a churn page (the ``churn_task``
    definition) in ``[cutoff, cutoff + horizon_days)``, whatever the partitioning.
    One row per input row (``CHURN_PROBABILITY_SCHEMA``); rows are hashed by user into
    ``8 x`` the default parallelism tasks, each user replayed once for all its cutoffs.
    """
    n_futures = int(n_futures)
    if n_futures < 1:
        raise ValueError(f"n_futures must be at least 1, got {n_futures}.")
    spark = SparkSession.builder.getOrCreate()
    tasks = max(1, spark.sparkContext.defaultParallelism * _CEILING_TASKS_PER_CORE)
    rows = labelled_rows.select(
        F.col("user_id").cast("string").alias("user_id"),
        F.unix_seconds(F.col("cutoff").cast("timestamp")).alias("cutoff_seconds"),
    )
    probabilities = rows.repartition(tasks, "user_id").mapInArrow(
        partial(
            _probabilities_of_rows,
            simulation,
            frozenset(churn_pages(churn_task)),
            int(churn_task["horizon_days"]) * DAY,
            n_futures,
        ),
        schema=from_arrow_schema(_PROBABILITY_ARROW_SCHEMA),
    )
    return probabilities.select(
        "user_id",
        F.timestamp_seconds("cutoff_seconds").alias("cutoff"),
        "churn_probability",
        "futures",
    )
