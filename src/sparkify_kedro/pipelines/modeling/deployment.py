"""The deployed model: the chosen candidate refitted on every labelled row, and its weights.

Whatever was chosen (a classifier, the one-line rule, the base rate) becomes one Spark ML
``PipelineModel`` that writes a churn ``probability`` from raw feature columns, so that
scoring, inference and the run history treat every choice the same way.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import Imputer, SQLTransformer, VectorAssembler
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.columns import MODEL
from sparkify_kedro.estimators import (
    ASSEMBLED,
    LABEL,
    build_classifier_pipeline,
    classifier_stage,
)
from sparkify_kedro.feature_catalog import selected_features
from sparkify_kedro.feature_profile import profile_features
from sparkify_kedro.pipelines.modeling.nodes import BASELINE
from sparkify_kedro.pipelines.modeling.rolling_origin import (
    WEIGHT,
    with_class_weights,
)
from sparkify_kedro.pipelines.modeling.tuning import fit_grid
from sparkify_kedro.spark_tuning import (
    fitting_partitions,
    in_stable_order,
    small_query_settings,
)

logger = logging.getLogger(__name__)


def _rule_model(feature_columns: dict[str, list[str]]) -> Pipeline:
    """A baseline as a Spark ML pipeline writing a churn ``probability``: a one-feature,
    unregularised logistic regression of the label on the rule's feature (missing values
    imputed with the median), i.e. the rule's ranking with probabilities fitted to the
    churn rate; for the base rate, on a constant (the intercept alone)."""
    numeric = feature_columns["numeric"]
    if numeric:
        imputed = [f"{column}__imputed" for column in numeric]
        head = [Imputer(inputCols=numeric, outputCols=imputed, strategy="median")]
    else:
        imputed = ["base_rate_constant"]
        head = [
            SQLTransformer(
                statement="SELECT *, 0.0 AS base_rate_constant FROM __THIS__"
            )
        ]
    return Pipeline(
        stages=[
            *head,
            VectorAssembler(inputCols=imputed, outputCol=ASSEMBLED),
            LogisticRegression(
                featuresCol=ASSEMBLED, labelCol=LABEL, regParam=0.0, maxIter=25
            ),
        ]
    )


def refit_best_model(
    model_input_table: DataFrame,
    best_model_choice: dict[str, Any],
    training_partitions: dict[str, Any],
    query_execution: dict[str, Any],
) -> PipelineModel:
    """The chosen candidate refitted on every labelled row, as one Spark ML pipeline that
    writes a churn ``probability`` from raw feature columns: a classifier class-weighted,
    a baseline as :func:`_rule_model`.
    """
    counts = model_input_table.agg(
        F.count(F.lit(1)).alias("n"),
        F.coalesce(F.sum(LABEL), F.lit(0)).alias("churners"),
    ).first()
    n, churners = int(counts["n"]), int(counts["churners"])
    if churners in (0, n):
        raise ValueError(
            f"The labelled rows hold {churners} churners among {n} rows: a churn model "
            f"cannot be trained. Use a longer log or more users."
        )
    rows = in_stable_order(
        with_class_weights(model_input_table, n, churners),
        fitting_partitions(n, training_partitions),
    )
    with small_query_settings(model_input_table.sparkSession, n, query_execution):
        if best_model_choice["feature_set"] == BASELINE:
            model = _rule_model(best_model_choice["feature_columns"]).fit(rows)
            (coefficient, *_) = [*classifier_stage(model).coefficients.toArray(), 1.0]
            if coefficient <= 0:
                logger.warning(
                    "The one-line rule's feature does not rise with churn on the "
                    "labelled rows (coefficient %.3g): its ranking is reversed.",
                    coefficient,
                )
            return model
        pipeline, classifier = build_classifier_pipeline(
            best_model_choice["feature_columns"],
            best_model_choice["estimator"],
            best_model_choice["estimator_params"],
            WEIGHT,
        )
        (model,) = fit_grid(pipeline, classifier, rows, [{}])
    return model


def feature_weights(model: PipelineModel, rows: DataFrame) -> list[dict[str, Any]]:
    """Importances (trees) or coefficients (linear models) per input feature.

    Names come from the metadata of the assembled vector of ``rows`` (the rows the model
    read): a numeric feature keeps its name, a one-hot column reads ``feature=value``.
    """
    attributes = rows.schema[ASSEMBLED].metadata["ml_attr"]["attrs"]
    names = dict(
        (attribute["idx"], attribute["name"])
        for kind in attributes.values()
        for attribute in kind
    )
    stage = classifier_stage(model)
    if hasattr(stage, "featureImportances"):
        kind, values = "importance", stage.featureImportances.toArray()
    else:
        kind, values = "coefficient", stage.coefficients.toArray()
    return [
        {
            "feature": names[index].replace("__imputed", "").replace("__onehot_", "="),
            "kind": kind,
            "value": float(value),
        }
        for index, value in enumerate(values)
    ]


def build_feature_weights(
    best_model: PipelineModel,
    best_model_choice: dict[str, Any],
    model_input_table: DataFrame,
) -> pd.DataFrame:
    """The deployed model's importances (trees) or coefficients (linear models, the
    rule's one-feature regression) per input feature; no job runs (the names come from
    the schema of the model's output)."""
    weights = feature_weights(best_model, best_model.transform(model_input_table))
    return pd.DataFrame(
        [
            {
                MODEL: best_model_choice["name"],
                "feature_set": best_model_choice["feature_set"],
                "algorithm": best_model_choice["algorithm"],
                **weight,
            }
            for weight in weights
        ],
        columns=[MODEL, "feature_set", "algorithm", "feature", "kind", "value"],
    )


def profile_training_features(
    model_input_table: DataFrame, best_model_choice: dict[str, Any], bins: int
) -> dict[str, Any]:
    """The deployed model's training rows (every labelled row) profiled feature by
    feature (:func:`~sparkify_kedro.feature_profile.profile_features`, ``bins`` buckets;
    every feature of the frozen feature parameters), and ``user_ids``, their users:
    what scoring's reasons and inference's drift check compare with."""
    feature_params = best_model_choice["feature_params"]
    categorical = list(feature_params["categorical_features"])
    numeric = [
        name for name in selected_features(feature_params) if name not in categorical
    ]
    users = model_input_table.select("user_id").distinct().collect()
    return {
        **profile_features(model_input_table, numeric, categorical, bins),
        "user_ids": sorted(row["user_id"] for row in users),
    }
