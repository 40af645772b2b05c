"""Spark settings and placements for queries over small tables (modeling's rows).

Modeling runs thousands of Spark jobs over rows counted in users x cutoffs, not in events:
each job then costs more in planning, code generation and task (de)serialisation than in
arithmetic. These helpers cut that overhead without changing any result (same rows, same
order, same arithmetic): expressions interpreted instead of compiled below
``modeling.query_execution.interpret_below_rows`` rows, rows held in memory without their
lineage, a partition count derived from the rows, a stable placement of rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from sparkify_kedro.columns import CUTOFF, USER

#: Spark SQL settings that evaluate expressions by interpretation instead of generating
#: and compiling code for each query: cheaper than compiling when a query reads a few
#: thousand rows. ``factoryMode`` is an internal setting of Spark SQL (its test suites run
#: every expression this way); ``NO_CODEGEN`` interprets every expression.
INTERPRETED_EXPRESSIONS = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def interpreted_expressions(spark: SparkSession) -> AbstractContextManager[None]:
    """The body's queries run with :data:`INTERPRETED_EXPRESSIONS`; the session's own
    settings come back afterwards (the session is shared by every node of a run)."""
    return session_settings(spark, INTERPRETED_EXPRESSIONS)


def interprets(n_rows: int, query_execution: dict[str, Any]) -> bool:
    """Whether modeling queries over ``n_rows`` rows run interpreted
    (``modeling.query_execution``): ``interpret`` (true or false) when set, otherwise
    whether the rows are fewer than ``interpret_below_rows``."""
    override = query_execution.get("interpret")
    if override is not None:
        return bool(override)
    return n_rows < int(query_execution["interpret_below_rows"])


def small_query_settings(
    spark: SparkSession, n_rows: int, query_execution: dict[str, Any]
) -> AbstractContextManager[None]:
    """The body's queries run interpreted (:func:`interpreted_expressions`) when the
    modeling rows are few (:func:`interprets`), with the session's settings otherwise."""
    if interprets(n_rows, query_execution):
        return interpreted_expressions(spark)
    return nullcontext()


@contextmanager
def session_settings(spark: SparkSession, settings: dict[str, str]) -> Iterator[None]:
    """The body runs with the runtime Spark ``settings``; the previous values (or their
    absence) come back afterwards, whether the body succeeds or fails."""
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _local_master(rows: DataFrame) -> bool:
    """Whether ``rows`` belong to a local Spark (driver and executor in one process)."""
    return rows.sparkSession.sparkContext.master.startswith("local")


@contextmanager
def materialised(rows: DataFrame) -> Iterator[DataFrame]:
    """``rows`` computed once and held in memory for the body's Spark jobs, then freed.

    Each optimiser pass of a Spark ML fit is one Spark job, and every task of a job carries
    the whole lineage of the rows it reads (for preprocessed rows: the preprocessing
    stages, the caching and the reading of the modeling rows). On a few thousand rows,
    (de)serialising that lineage costs more than the pass. With a local master, the rows
    are therefore a local checkpoint: in memory with no lineage at all (no executor can be
    lost there). On a cluster a lost executor must cost its tasks, not the run, so the rows
    are cached and keep the lineage that recomputes them.
    """
    if not _local_master(rows):
        cached = rows.cache()
        try:
            yield cached
        finally:
            cached.unpersist()
        return
    checkpoint = rows.localCheckpoint(eager=True)
    try:
        yield checkpoint
    finally:
        # DataFrame.unpersist does not release a checkpoint: its RDD holds the blocks.
        checkpoint._jdf.queryExecution().logical().rdd().unpersist(False)


def without_lineage(rows: DataFrame) -> DataFrame:
    """``rows`` computed now and read from memory by later jobs, with a local master.

    The shared form of :func:`materialised`, for rows several nodes read: the local
    checkpoint is freed when the last reference to the rows goes (Spark's context cleaner
    releases unreachable RDDs). On a cluster the rows stay lazy: each fit caches its own
    copy of what it reads, with the lineage that survives a lost executor.
    """
    if not _local_master(rows):
        return rows
    return rows.localCheckpoint(eager=True)


def fitting_partitions(n_rows: int, training_partitions: dict[str, Any]) -> int:
    """How many partitions ``n_rows`` rows are fitted on (``modeling.training_partitions``).

    ``partitions``, when set, decides; otherwise one partition per ``rows_per_partition``
    rows, at least one. Spark ML on small data is job overhead: one partition makes each
    optimiser pass a single task, and more only pay once a partition's share of a pass
    costs more than a task does.
    """
    override = training_partitions.get("partitions")
    if override is not None:
        if int(override) < 1:
            raise ValueError(
                f"modeling.training_partitions.partitions must be >= 1, got {override}."
            )
        return int(override)
    per_partition = int(training_partitions["rows_per_partition"])
    if per_partition < 1:
        raise ValueError(
            "modeling.training_partitions.rows_per_partition must be >= 1, "
            f"got {per_partition}."
        )
    return max(1, math.ceil(n_rows / per_partition))


def in_stable_order(rows: DataFrame, partitions: int) -> DataFrame:
    """``rows`` hash-partitioned by user and sorted by (user, cutoff) in each partition.

    Tree ensembles draw bootstrap samples per partition in row order, and every learner
    adds partial sums in row order: a fixed placement and order make a fit independent of
    how upstream shuffles happened to arrive (local[*] or a cluster, one run or the next).
    """
    return rows.repartition(partitions, USER).sortWithinPartitions(USER, CUTOFF)
