"""The best achievable churn model on a simulated log, and each model's distance to it.

The simulator knows every user's complete state at a cutoff, so it can say how likely the
user is to churn within the horizon (``simulate_churn_probabilities``: replay, then draw
futures). Ranking users by that probability is the best any model can do: the *ceiling*.
Labels are one draw of those futures, so every AUC-PR measured on them is noisy; here
labels are redrawn from the probabilities many times and each model keeps its own
scores, giving its *expected* AUC-PR, the ceiling's, and their ratio.

Only a simulated log has these probabilities: these nodes are the ``ceiling`` pipeline,
part of ``demo``, never of ``__default__``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro import evaluation
from sparkify_kedro.events import churn_pages
from sparkify_kedro.pipelines.simulation.generator import UserSimulator
from sparkify_kedro.pipelines.simulation.primitives import DAY

KEYS = ["user_id", "cutoff"]

#: ``simulated_churn_probabilities``: one row per labelled (user_id, cutoff).
CHURN_PROBABILITY_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType(), nullable=False),
        T.StructField("cutoff", T.TimestampType(), nullable=False),
        T.StructField("churn_probability", T.DoubleType(), nullable=False),
        T.StructField("futures", T.IntegerType(), nullable=False),
    ]
)
_PROBABILITY_ROW_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType(), nullable=False),
        T.StructField("cutoff_seconds", T.LongType(), nullable=False),
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


def select_test_rows(
    churn_labels: DataFrame, split_summary: dict[str, Any]
) -> DataFrame:
    """The labelled (user, cutoff) rows of the rolling-origin test cutoffs: the only rows
    whose probabilities the comparison reads (futures cost about 1 ms each)."""
    cutoffs = [
        datetime.fromisoformat(cutoff) for cutoff in split_summary["test_cutoffs"]
    ]
    return churn_labels.where(F.col("cutoff").isin(cutoffs)).select(*KEYS)


def compare_with_ceiling(
    test_scores: pd.DataFrame,
    simulated_churn_probabilities: DataFrame,
    model_metrics: pd.DataFrame,
    ceiling_params: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each model's expected test AUC-PR over redrawn futures, beside the ceiling's.

    The test rows (every rolling-origin test cutoff) get the simulator's churn probability;
    labels are redrawn ``label_draws`` times from it (independently per row), the same
    draws for every model. Returns a table (one row per model and baseline, then the
    ceiling: ``expected_auc_pr`` with its Monte-Carlo standard error, ``ratio_to_ceiling``,
    and the realised test AUC-PR with its interval from ``model_metrics``) and a summary
    (the ceiling, the chosen model's ratio, the probabilities against the realised churn
    rate per test cutoff: a check that the futures match the logged process).
    """
    rows = test_scores.drop_duplicates(KEYS)[[*KEYS, "label"]]
    probabilities = simulated_churn_probabilities.select(
        *KEYS, "churn_probability"
    ).toPandas()
    with_probability = rows.merge(probabilities, on=KEYS, how="left")
    missing = int(with_probability["churn_probability"].isna().sum())
    if missing:
        raise ValueError(
            f"{missing} test rows have no simulated churn probability: rerun the "
            f"ceiling pipeline (simulate_churn_probabilities) on the current labels."
        )
    with_probability = with_probability.sort_values(KEYS, ignore_index=True)
    scores = {}
    for (feature_set, algorithm), frame in test_scores.groupby(
        ["feature_set", "algorithm"], sort=False
    ):
        ordered = with_probability[KEYS].merge(frame, on=KEYS, how="left")
        scores[evaluation.model_name(feature_set, algorithm)] = ordered[
            "score"
        ].to_numpy(float)
    p = with_probability["churn_probability"].to_numpy(float)
    expected = evaluation.expected_auc_pr(
        p, scores, ceiling_params["label_draws"], ceiling_params["seed"]
    )
    ceiling = expected[evaluation.CEILING]["mean"]
    realised = {
        evaluation.model_name(row.feature_set, row.algorithm): row
        for row in model_metrics.itertuples()
    }
    table = []
    for model, figures in expected.items():
        measured = realised.get(model)
        table.append(
            {
                "model": model,
                "chosen": bool(measured.chosen) if measured is not None else False,
                "expected_auc_pr": figures["mean"],
                "expected_auc_pr_se": figures["sem"],
                "ratio_to_ceiling": figures["mean"] / ceiling,
                "realised_auc_pr": measured.auc_pr if measured is not None else None,
                "realised_auc_pr_low": measured.auc_pr_low
                if measured is not None
                else None,
                "realised_auc_pr_high": measured.auc_pr_high
                if measured is not None
                else None,
            }
        )
    table_frame = pd.DataFrame(table)
    ceiling_row = table_frame["model"] == evaluation.CEILING
    table_frame.loc[ceiling_row, "realised_auc_pr"] = evaluation.auc_pr(
        with_probability["label"].to_numpy(int), p
    )
    chosen = table_frame[table_frame["chosen"]]
    by_cutoff = with_probability.groupby("cutoff").agg(
        rows=("label", "size"),
        churners=("label", "sum"),
        mean_probability=("churn_probability", "mean"),
    )
    summary = {
        "test_rows": len(with_probability),
        "label_draws": ceiling_params["label_draws"],
        "ceiling_expected_auc_pr": ceiling,
        "ceiling_expected_auc_pr_se": expected[evaluation.CEILING]["sem"],
        "chosen_model": chosen["model"].iloc[0] if len(chosen) else None,
        "chosen_expected_auc_pr": float(chosen["expected_auc_pr"].iloc[0])
        if len(chosen)
        else None,
        "chosen_ratio_to_ceiling": float(chosen["ratio_to_ceiling"].iloc[0])
        if len(chosen)
        else None,
        "probabilities_against_realised_churn": [
            {
                "test_cutoff": pd.Timestamp(cutoff).isoformat(),
                "rows": int(row.rows),
                "realised_churn_rate": float(row.churners / row.rows),
                "mean_churn_probability": float(row.mean_probability),
            }
            for cutoff, row in by_cutoff.iterrows()
        ],
        "expected_churn_rate": float(np.mean(p)),
        "realised_churn_rate": float(with_probability["label"].mean()),
    }
    return table_frame, summary


def plot_ceiling_comparison(ceiling_comparison: pd.DataFrame) -> go.Figure:
    """Expected test AUC-PR of every model over redrawn futures, against the ceiling."""
    models = ceiling_comparison[ceiling_comparison["model"] != evaluation.CEILING]
    models = models.sort_values("expected_auc_pr", ascending=False)
    (ceiling,) = ceiling_comparison.loc[
        ceiling_comparison["model"] == evaluation.CEILING, "expected_auc_pr"
    ]
    figure = go.Figure(
        go.Bar(
            x=models["model"],
            y=models["expected_auc_pr"],
            error_y={"type": "data", "array": 1.96 * models["expected_auc_pr_se"]},
            marker_color=[
                "#d62728" if chosen else "#1f77b4" for chosen in models["chosen"]
            ],
            customdata=models["ratio_to_ceiling"],
            hovertemplate="%{x}: %{y:.3f} (%{customdata:.0%} of the ceiling)",
        )
    )
    figure.add_hline(
        y=ceiling,
        line_dash="dash",
        annotation_text=f"ceiling (the simulator's own probability): {ceiling:.3f}",
    )
    figure.update_layout(
        title="Expected test AUC-PR over redrawn futures; red = chosen on validation",
        yaxis_title="expected AUC-PR",
        yaxis_range=[0, 1],
    )
    return figure


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
        found = simulator.churn_probabilities(
            int(user), ordered, horizon_seconds, pages, n_futures
        )
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

    For each (``user_id``, ``cutoff``) of ``labelled_rows`` (e.g. ``churn_labels``; other
    columns are ignored), the user's stream is replayed exactly as ``generate_events``
    wrote it up to the cutoff, then ``n_futures`` futures are drawn from the user's full
    simulator state there (``UserSimulator.churn_probabilities``): the probability is
    their mean share with a churn page (the ``churn_task`` definition) in ``[cutoff,
    cutoff + horizon_days)``. It only depends on the parameters, the user, the cutoff and
    ``n_futures``, never on the partitioning.

    Output (``CHURN_PROBABILITY_SCHEMA``): ``user_id`` (string), ``cutoff`` (timestamp),
    ``churn_probability`` (double in [0, 1]), ``futures`` (int, ``n_futures``); one row
    per input row. Rows are hashed by user into ``8 x`` the default parallelism tasks, so
    each user's stream is replayed once for all their cutoffs; nothing reaches the driver.
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
        schema=_PROBABILITY_ROW_SCHEMA,
    )
    return probabilities.select(
        "user_id",
        F.timestamp_seconds("cutoff_seconds").alias("cutoff"),
        "churn_probability",
        "futures",
    )
