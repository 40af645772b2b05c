"""User-grouped cross-validation in few Spark jobs (``tune_and_evaluate`` uses it).

Spark ML on a few thousand rows is job overhead: each job costs about 0.1 s whatever its
size. ``pyspark.ml.tuning.CrossValidator`` fits one fold at a time, checks every fold for
emptiness (two jobs per fold) and evaluates every (fold, grid point) with a
``BinaryClassificationEvaluator`` (about six jobs each); the out-of-fold scores then need
another pass. Here every (fold, grid point) pipeline is fitted at once in threads sharing
the SparkSession, and every out-of-fold score of every grid point comes back in **one**
collect (a small table: one row per tuning (user, cutoff) and grid point), from which the
AUC-PR of each fold is computed on the driver with Spark's definition
(:func:`sparkify_kedro.evaluation.auc_pr`, the evaluator's exact curve). Same folds, same
fits, same figure as ``CrossValidator`` with a ``foldCol``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.param import Params
from pyspark.ml.tuning import ParamGridBuilder
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkify_kedro import evaluation
from sparkify_kedro.estimators import LABEL, PROBABILITY, churn_probability
from sparkify_kedro.pipelines.modeling.rolling_origin import FOLD

SCORE = "score"
GRID_POINT = "grid_point"


def scored(model: PipelineModel, rows: DataFrame) -> DataFrame:
    """``rows`` with the model's churn probability as ``score``."""
    return model.transform(rows).withColumn(SCORE, churn_probability(PROBABILITY))


def grid_points(classifier: Params, grid: dict[str, list[Any]] | None) -> list[dict]:
    """Every combination of the grid's values, as param maps of ``classifier``."""
    builder = ParamGridBuilder()
    for name, values in (grid or {}).items():
        builder = builder.addGrid(classifier.getParam(name), values)
    return builder.build()


def fit_in_parallel(
    pipeline: Pipeline, fits: list[tuple[DataFrame, dict]], parallelism: int
) -> list[PipelineModel]:
    """``pipeline`` fitted on each (rows, param map), ``parallelism`` fits at a time.

    Each fit waits mostly on small Spark jobs, so fits in threads overlap their latency.
    """
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        return list(pool.map(lambda fit: pipeline.fit(*fit), fits))


def cross_validate(
    pipeline: Pipeline,
    param_maps: list[dict],
    tuning_rows: DataFrame,
    num_folds: int,
    parallelism: int,
) -> tuple[list[float], pd.DataFrame]:
    """Mean out-of-fold AUC-PR of each grid point, and the out-of-fold scores.

    Fold ``k``'s models are fitted on the tuning rows whose ``cv_fold`` is not ``k`` and
    score the rows whose ``cv_fold`` is ``k`` (a user's rows share a fold). Returns the
    AUC-PR of each grid point averaged over the folds (``CrossValidator.avgMetrics``) and
    the scores: ``grid_point``, ``cv_fold``, ``label``, ``score``, one row per tuning row
    and grid point.
    """
    plan = [
        (fold, point) for fold in range(num_folds) for point in range(len(param_maps))
    ]
    models = fit_in_parallel(
        pipeline,
        [(tuning_rows.filter(F.col(FOLD) != fold), param_maps[p]) for fold, p in plan],
        parallelism,
    )
    parts = [
        scored(model, tuning_rows.filter(F.col(FOLD) == fold)).select(
            F.lit(point).alias(GRID_POINT), FOLD, LABEL, SCORE
        )
        for (fold, point), model in zip(plan, models, strict=True)
    ]
    scores = reduce(DataFrame.unionByName, parts).toPandas()
    per_fold = scores.groupby([GRID_POINT, FOLD])[[LABEL, SCORE]].apply(
        lambda rows: evaluation.auc_pr(rows[LABEL].to_numpy(), rows[SCORE].to_numpy())
    )
    means = [
        float(np.mean(per_fold.loc[point].to_numpy()))
        for point in range(len(param_maps))
    ]
    return means, scores
