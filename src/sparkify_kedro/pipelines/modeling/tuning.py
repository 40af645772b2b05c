"""Training sets prepared once, and fits that spend few Spark jobs: each training set (an
origin of one feature set) has its preprocessing fitted once and its rows prepared once
(:class:`TrainingSet`); candidates fit only their classifier stages, several at a time in
threads sharing the SparkSession (:func:`in_parallel`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.param import Params
from pyspark.ml.tuning import ParamGridBuilder
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.columns import SCORE
from sparkify_kedro.estimators import (
    PROBABILITY,
    churn_probability,
    preprocessing_pipeline,
)
from sparkify_kedro.spark_tuning import materialised, without_lineage

#: Whether a row of a training set is one its models are fitted on.
FITTING = "is_fitting_row"
Item, Result = TypeVar("Item"), TypeVar("Result")


def scored(model: PipelineModel, rows: DataFrame) -> DataFrame:
    """``rows`` with the model's churn probability as ``score``."""
    return model.transform(rows).withColumn(SCORE, churn_probability(PROBABILITY))


def grid_points(classifier: Params, grid: dict[str, list[Any]] | None) -> list[dict]:
    """Every combination of the grid's values, as param maps of ``classifier``."""
    builder = ParamGridBuilder()
    for name, values in (grid or {}).items():
        builder = builder.addGrid(classifier.getParam(name), values)
    return builder.build()


@dataclass(frozen=True)
class TrainingSet:
    """One training set: its fitted preprocessing and its prepared rows.

    ``rows`` hold the set's fitting rows (``is_fitting_row``) and the rows its models
    score (the fold's validation rows, the origin's test rows), with both vectors
    (``assembled_features`` for trees, ``scaled_features`` for linear models), read from
    memory without lineage (:func:`without_lineage`).
    """

    preprocessing: PipelineModel
    rows: DataFrame

    def fitting_rows(self) -> DataFrame:
        return self.rows.where(F.col(FITTING))

    def scored_rows(self) -> DataFrame:
        return self.rows.where(~F.col(FITTING))


def prepare_training_set(
    rows: DataFrame, fitting: Column, feature_columns: dict[str, list[str]]
) -> TrainingSet:
    """The preprocessing fitted on the ``rows`` where ``fitting`` holds, applied to all."""
    preprocessing = preprocessing_pipeline(feature_columns).fit(rows.where(fitting))
    prepared = preprocessing.transform(rows.withColumn(FITTING, fitting))
    return TrainingSet(preprocessing, without_lineage(prepared))


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


def in_parallel(
    function: Callable[[Item], Result], items: list[Item], parallelism: int
) -> list[Result]:
    """``function`` of each item, ``parallelism`` at a time, in threads sharing the session:
    a fit waits mostly on small Spark jobs, so fits in threads overlap their latency."""
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        return list(pool.map(function, items))
