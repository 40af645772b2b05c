"""User-grouped cross-validation in few Spark jobs (``tune_and_evaluate`` uses it).

Spark ML on a few thousand rows is job overhead: each job costs about 0.1 s whatever its
size. ``pyspark.ml.tuning.CrossValidator`` fits one fold at a time, checks every fold for
emptiness (two jobs per fold) and evaluates every (fold, grid point) with a
``BinaryClassificationEvaluator`` (about six jobs each); the out-of-fold scores then need
another pass. Here the folds are fitted at once in threads sharing the SparkSession, each
fold's preprocessing (imputer, encoders, scaler: the grid does not touch them) once for all
its grid points, and every out-of-fold score of every grid point comes back in **one**
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
from sparkify_kedro.pipelines.modeling.small_jobs import materialised

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


def fit_grid(
    pipeline: Pipeline, classifier: Params, rows: DataFrame, param_maps: list[dict]
) -> list[PipelineModel]:
    """``pipeline`` fitted on ``rows`` at each grid point of ``classifier``.

    The stages before the classifier (imputer, encoders, assembler, scaler) do not depend
    on the grid: they are fitted once, and their output is :func:`materialised` while the
    classifier (and, for an SVM, its calibration) is fitted at each grid point; each model
    is the fitted preprocessing followed by that point's fitted classifier stages.
    """
    stages = pipeline.getStages()
    at = stages.index(classifier)
    preprocessing = Pipeline(stages=stages[:at]).fit(rows)
    with materialised(preprocessing.transform(rows)) as prepared:
        return [
            PipelineModel(
                [
                    *preprocessing.stages,
                    *Pipeline(stages=stages[at:]).fit(prepared, params).stages,
                ]
            )
            for params in param_maps
        ]


def fit_in_parallel(
    pipeline: Pipeline,
    classifier: Params,
    training_sets: list[DataFrame],
    param_maps: list[dict],
    parallelism: int,
) -> list[list[PipelineModel]]:
    """``pipeline`` fitted on each training set at each grid point (``[set][point]``).

    Training sets are fitted ``parallelism`` at a time, in threads sharing the session:
    each fit waits mostly on small Spark jobs, so fits in threads overlap their latency.
    """
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        return list(
            pool.map(
                lambda rows: fit_grid(pipeline, classifier, rows, param_maps),
                training_sets,
            )
        )


def cross_validate(  # noqa: PLR0913, PLR0917 (the pipeline and its grid, the rows, folds)
    pipeline: Pipeline,
    classifier: Params,
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
    models = fit_in_parallel(
        pipeline,
        classifier,
        [tuning_rows.filter(F.col(FOLD) != fold) for fold in range(num_folds)],
        param_maps,
        parallelism,
    )
    parts = [
        scored(model, tuning_rows.filter(F.col(FOLD) == fold)).select(
            F.lit(point).alias(GRID_POINT), FOLD, LABEL, SCORE
        )
        for fold, fold_models in enumerate(models)
        for point, model in enumerate(fold_models)
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
