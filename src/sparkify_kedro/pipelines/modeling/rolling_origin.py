"""Rolling-origin plan of the ``modeling`` pipeline: which cutoffs test, train and tune.

``model_input_table`` holds one row per (``user_id``, ``cutoff``) with ``label`` (1 = the
user churns within the horizon after the cutoff) and feature columns. Each of the last
``test_cutoffs`` cutoffs is a *test origin*; its model is trained on the cutoffs whose label
horizon ends by that origin. Models are tuned and chosen on the earliest origin's training
cutoffs (the *tuning cutoffs*), which are never test rows.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

logger = logging.getLogger(__name__)

USER, CUTOFF, LABEL = "user_id", "cutoff", "label"
WEIGHT, FOLD = "class_weight", "cv_fold"


def _iso(cutoff: datetime) -> str:
    return cutoff.isoformat()


def plan_rolling_origin(
    model_input_table: DataFrame, horizon_days: int, test_cutoffs: int
) -> dict[str, Any]:
    """The rolling-origin plan: test origins, each one's training cutoffs, tuning cutoffs.

    The last ``test_cutoffs`` cutoffs are the test origins. An origin trains on the cutoffs
    whose label horizon (``cutoff + horizon_days``) ends at or before it, so no training
    label sees its test period. The tuning cutoffs are the earliest origin's training
    cutoffs: they are never test rows. Returns plain data (ISO timestamps, row and churner
    counts per cutoff, per origin and pooled); fails clearly when an origin has nothing to
    train on or the tuning rows lack a class.
    """
    if test_cutoffs < 1:
        raise ValueError(
            f"modeling.evaluation.test_cutoffs must be >= 1, got {test_cutoffs}."
        )
    counts = {
        row[CUTOFF]: (int(row["rows"]), int(row["churners"]))
        for row in model_input_table.groupBy(CUTOFF)
        .agg(F.count(F.lit(1)).alias("rows"), F.sum(LABEL).alias("churners"))
        .collect()
    }
    cutoffs = sorted(counts)
    if not cutoffs:
        raise ValueError("model_input_table is empty: nothing to train on.")
    horizon = timedelta(days=horizon_days)
    origins = []
    for test_cutoff in cutoffs[-test_cutoffs:]:
        train = [cutoff for cutoff in cutoffs if cutoff + horizon <= test_cutoff]
        if not train:
            raise ValueError(
                f"Test cutoff {_iso(test_cutoff)} has no training cutoff ending "
                f"{horizon_days} days before it: the log holds {len(cutoffs)} cutoffs, too "
                f"few for {test_cutoffs} test cutoffs. Lower modeling.evaluation.test_cutoffs."
            )
        origins.append(
            {
                "test_cutoff": _iso(test_cutoff),
                "train_cutoffs": [_iso(cutoff) for cutoff in train],
                "n_train": sum(counts[cutoff][0] for cutoff in train),
                "train_churners": sum(counts[cutoff][1] for cutoff in train),
                "n_test": counts[test_cutoff][0],
                "test_churners": counts[test_cutoff][1],
            }
        )
    tuning = origins[0]
    if tuning["train_churners"] in (0, tuning["n_train"]):
        raise ValueError(
            f"The tuning rows (cutoffs {tuning['train_cutoffs']}) hold "
            f"{tuning['train_churners']} churners among {tuning['n_train']} rows: both "
            f"classes are needed. Use a longer log or more users."
        )
    for origin in origins:
        if origin["test_churners"] in (0, origin["n_test"]):
            logger.warning(
                "Test cutoff %s has %d churners among %d rows: its AUCs are undefined.",
                origin["test_cutoff"],
                origin["test_churners"],
                origin["n_test"],
            )
    return {
        "horizon_days": horizon_days,
        "cutoffs": [_iso(cutoff) for cutoff in cutoffs],
        "n_rows": sum(rows for rows, _ in counts.values()),
        "tuning_cutoffs": tuning["train_cutoffs"],
        "n_tuning": tuning["n_train"],
        "tuning_churners": tuning["train_churners"],
        "origins": origins,
        "test_cutoffs": [origin["test_cutoff"] for origin in origins],
        "n_test": sum(origin["n_test"] for origin in origins),
        "test_churners": sum(origin["test_churners"] for origin in origins),
    }


def cutoff_in(cutoffs: list[str]) -> Column:
    """Whether a row's cutoff is one of ``cutoffs`` (ISO timestamps)."""
    return F.col(CUTOFF).isin([datetime.fromisoformat(cutoff) for cutoff in cutoffs])


def at_cutoffs(rows: DataFrame, cutoffs: list[str]) -> DataFrame:
    """The rows whose cutoff is one of ``cutoffs`` (ISO timestamps)."""
    return rows.filter(cutoff_in(cutoffs))


def with_class_weights(rows: DataFrame, n: int, churners: int) -> DataFrame:
    """Add ``class_weight``: ``n / (2 * n_class)``, so both classes weigh the same in total.

    ``n`` and ``churners`` are the rows' counts (known from the plan: no job to count them).
    """
    churn_weight, stay_weight = n / (2 * churners), n / (2 * (n - churners))
    return rows.withColumn(
        WEIGHT,
        F.when(F.col(LABEL) == 1, F.lit(churn_weight)).otherwise(F.lit(stay_weight)),
    )


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


def prepare_modeling_rows(
    model_input_table: DataFrame,
    split_summary: dict[str, Any],
    num_folds: int,
    training_partitions: dict[str, Any],
) -> DataFrame:
    """The rows of every planned cutoff with a cross-validation fold, cached.

    ``cv_fold`` is a hash of ``user_id``, so all rows of a user share a fold and no user is
    in both the fitting and the validation rows of a fold. The rows sit in stable
    partitions, as many as :func:`fitting_partitions` gives for the plan's rows, and are cached: every model of every feature set reads them. One
    job fills the cache and checks that every fold holds tuning rows (so that no fold of
    any model fits or validates on nothing).
    """
    folds = F.pmod(F.xxhash64(USER), F.lit(num_folds)).cast("int")
    rows = in_stable_order(
        at_cutoffs(model_input_table, split_summary["cutoffs"]).withColumn(FOLD, folds),
        fitting_partitions(split_summary["n_rows"], training_partitions),
    ).cache()
    tuning = cutoff_in(split_summary["tuning_cutoffs"])
    counts = rows.groupBy(FOLD).agg(F.count(F.when(tuning, 1)).alias("n")).collect()
    filled = {row[FOLD] for row in counts if row["n"]}
    if filled != set(range(num_folds)):
        raise ValueError(
            f"Only {len(filled)} of the {num_folds} cross-validation folds hold tuning "
            f"rows ({split_summary['n_tuning']} rows): lower "
            f"modeling.cross_validation.num_folds or use more users."
        )
    return rows


def origin_rows(
    modeling_rows: DataFrame, origin: dict[str, Any]
) -> tuple[DataFrame, Column]:
    """The rows of one rolling origin, class-weighted for its training rows, and the
    condition that picks its training rows (the others are its test rows)."""
    if origin["train_churners"] in (0, origin["n_train"]):
        raise ValueError(
            f"The training rows of test cutoff {origin['test_cutoff']} hold "
            f"{origin['train_churners']} churners among {origin['n_train']} rows: a churn "
            f"model cannot be trained on them."
        )
    rows = with_class_weights(
        at_cutoffs(modeling_rows, [*origin["train_cutoffs"], origin["test_cutoff"]]),
        origin["n_train"],
        origin["train_churners"],
    )
    return rows, cutoff_in(origin["train_cutoffs"])
