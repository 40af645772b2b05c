"""Rolling-origin plan of the ``modeling`` pipeline: which cutoffs are origins, which
train each one, and the rows of each (class-weighted for training)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.columns import CUTOFF, LABEL
from sparkify_kedro.spark_tuning import fitting_partitions, in_stable_order

logger = logging.getLogger(__name__)

WEIGHT = "class_weight"


def plan_rolling_origin(
    model_input_table: DataFrame, horizon_days: int, max_origins: int | None
) -> dict[str, Any]:
    """The rolling-origin plan: the origins, each one's training cutoffs, the test cutoffs.

    An *origin* is a cutoff with training cutoffs holding both classes: the cutoffs whose
    label horizon (``cutoff + horizon_days``) ends at or before it. The *test cutoffs* are
    the origins after the first. ``max_origins`` keeps the last ones (``None``: all).
    Returns plain data (ISO timestamps, rows and churners per origin and pooled); fails
    when fewer than two origins exist.
    """
    if max_origins is not None and max_origins < 2:  # noqa: PLR2004 (one to choose, one to test)
        raise ValueError(
            "modeling.rolling_origin.max_origins must be >= 2 (the first origin has no "
            f"history to choose from) or null, got {max_origins}."
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
    for cutoff in cutoffs:
        train = [earlier for earlier in cutoffs if earlier + horizon <= cutoff]
        n_train = sum(counts[earlier][0] for earlier in train)
        train_churners = sum(counts[earlier][1] for earlier in train)
        if train_churners in (0, n_train):
            continue  # nothing to train on yet, or one class only
        origins.append(
            {
                "cutoff": cutoff.isoformat(),
                "train_cutoffs": [earlier.isoformat() for earlier in train],
                "n_train": n_train,
                "train_churners": train_churners,
                "n_rows": counts[cutoff][0],
                "churners": counts[cutoff][1],
            }
        )
    origins = origins[-max_origins:] if max_origins else origins
    if len(origins) < 2:  # noqa: PLR2004
        raise ValueError(
            f"The log holds {len(cutoffs)} cutoffs, of which {len(origins)} can be an "
            f"origin (training cutoffs {horizon_days} days before it, holding churners and "
            "stayers): two are needed, one to choose and one to test the choice. Use a "
            "longer log or more users."
        )
    for origin in origins:
        if origin["churners"] in (0, origin["n_rows"]):
            logger.warning(
                "Origin %s has %d churners among %d rows: its AUCs are undefined.",
                origin["cutoff"],
                origin["churners"],
                origin["n_rows"],
            )
    tests = origins[1:]
    planned = sorted({c for o in origins for c in [*o["train_cutoffs"], o["cutoff"]]})
    return {
        "horizon_days": horizon_days,
        "cutoffs": planned,
        "n_rows": sum(counts[datetime.fromisoformat(c)][0] for c in planned),
        "origins": origins,
        "origin_cutoffs": [origin["cutoff"] for origin in origins],
        "test_cutoffs": [origin["cutoff"] for origin in tests],
        "n_test": sum(origin["n_rows"] for origin in tests),
        "test_churners": sum(origin["churners"] for origin in tests),
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


def prepare_modeling_rows(
    model_input_table: DataFrame,
    split_summary: dict[str, Any],
    training_partitions: dict[str, Any],
) -> DataFrame:
    """The rows of every planned cutoff in stable partitions, cached: every candidate of
    every feature set reads them. As many partitions as :func:`fitting_partitions` gives
    for the plan's rows."""
    return in_stable_order(
        at_cutoffs(model_input_table, split_summary["cutoffs"]),
        fitting_partitions(split_summary["n_rows"], training_partitions),
    ).cache()


def origin_rows(
    modeling_rows: DataFrame, origin: dict[str, Any]
) -> tuple[DataFrame, Column]:
    """The rows of one rolling origin, class-weighted for its training rows, and the
    condition that picks its training rows (the others are the origin's own rows, which
    its candidates score)."""
    rows = with_class_weights(
        at_cutoffs(modeling_rows, [*origin["train_cutoffs"], origin["cutoff"]]),
        origin["n_train"],
        origin["train_churners"],
    )
    return rows, cutoff_in(origin["train_cutoffs"])
