"""Tuning, testing and refitting nodes of the ``modeling`` pipeline (Spark ML).

Each (algorithm, feature set) is tuned once by user-grouped cross-validation on the tuning
cutoffs, then refitted on each rolling-origin training set and scored on its test cutoff
(``rolling_origin.py`` makes the plan; ``selection.py`` chooses; ``measurement.py`` measures).
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkify_kedro import evaluation
from sparkify_kedro.estimators import (
    ASSEMBLED,
    LABEL,
    build_classifier_pipeline,
    classifier_stage,
)
from sparkify_kedro.pipelines.modeling.rolling_origin import (
    CUTOFF,
    USER,
    WEIGHT,
    at_cutoffs,
    fitting_partitions,
    in_stable_order,
    origin_rows,
    with_class_weights,
)
from sparkify_kedro.pipelines.modeling.small_jobs import interpreted_expressions
from sparkify_kedro.pipelines.modeling.tuning import (
    GRID_POINT,
    SCORE,
    cross_validate,
    fit_grid,
    fit_in_parallel,
    grid_points,
    scored,
)

PREDICTION = "prediction"
#: The columns of every model's test scores (one row per test (user, cutoff)).
TEST_SCORE_COLUMNS = [USER, CUTOFF, LABEL, SCORE, PREDICTION]
#: The figure that chooses the best model (see ``selection.py``).
SELECTION_METRIC = "cv_auc_pr"


def select_feature_columns(
    feature_groups: dict[str, list[str]],
    categorical_features: list[str],
    groups: list[str],
) -> dict[str, list[str]]:
    """The numeric and categorical feature columns of a feature set (a list of groups)."""
    unknown = sorted(set(groups) - set(feature_groups))
    if unknown:
        raise ValueError(
            f"Unknown feature groups {unknown}; known: {sorted(feature_groups)}."
        )
    columns = list(dict.fromkeys(c for group in groups for c in feature_groups[group]))
    categorical = set(categorical_features)
    return {
        "numeric": [column for column in columns if column not in categorical],
        "categorical": [column for column in columns if column in categorical],
    }


def feature_weights(model: PipelineModel, scored: DataFrame) -> list[dict[str, Any]]:
    """Importances (trees) or coefficients (linear models) per input feature.

    Names come from the assembled vector's metadata: a numeric feature keeps its name, a
    one-hot column reads ``feature=value``.
    """
    attributes = scored.schema[ASSEMBLED].metadata["ml_attr"]["attrs"]
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


def tune_and_evaluate(
    modeling_rows: DataFrame,
    split_summary: dict[str, Any],
    feature_columns: dict[str, list[str]],
    algorithm: dict[str, Any],
    cross_validation: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Tune one algorithm on one feature set, then score every rolling-origin test cutoff.

    Cross-validation on the tuning cutoffs (``tuning.py``: every fold and grid point
    fitted in parallel, the out-of-fold scores in one collect) picks the grid point with
    the best mean AUC-PR (``cv_auc_pr``, the figure that later chooses among models); the
    decision threshold maximises F1 on the best grid point's out-of-fold scores. For each
    test origin the tuned pipeline is fitted on that origin's training cutoffs (the
    earliest origin's are the tuning cutoffs; the origins in parallel) and scores the
    origin's test rows, every origin's in one collect.

    Returns the result (plain data: parameters, ``cv_auc_pr``, threshold, feature weights
    of the latest origin's model) and the test scores: one row per test (user, cutoff) with
    ``algorithm`` (the estimator), ``label``, ``score`` and the thresholded ``prediction``.

    Its queries read a few thousand rows each: they run interpreted, not compiled
    (``small_jobs.py``).
    """
    with interpreted_expressions(modeling_rows.sparkSession):
        return _tune_and_evaluate(
            modeling_rows, split_summary, feature_columns, algorithm, cross_validation
        )


def _tune_and_evaluate(
    modeling_rows: DataFrame,
    split_summary: dict[str, Any],
    feature_columns: dict[str, list[str]],
    algorithm: dict[str, Any],
    cross_validation: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """:func:`tune_and_evaluate`, in the session's current settings."""
    tuning_rows = with_class_weights(
        at_cutoffs(modeling_rows, split_summary["tuning_cutoffs"]),
        split_summary["n_tuning"],
        split_summary["tuning_churners"],
    )
    pipeline, classifier = build_classifier_pipeline(
        feature_columns, algorithm["estimator"], algorithm.get("params", {}), WEIGHT
    )
    param_maps = grid_points(classifier, algorithm.get("grid"))
    cv_auc_pr, out_of_fold = cross_validate(
        pipeline,
        classifier,
        param_maps,
        tuning_rows,
        cross_validation["num_folds"],
        cross_validation["parallelism"],
    )
    best_index = int(np.argmax(cv_auc_pr))
    best_grid = {param.name: value for param, value in param_maps[best_index].items()}
    estimator_params = {**algorithm.get("params", {}), **best_grid}
    best = out_of_fold[out_of_fold[GRID_POINT] == best_index]
    threshold = evaluation.best_f1_threshold(
        best[LABEL].to_numpy(), best[SCORE].to_numpy()
    )
    # The earliest origin trains on the tuning rows: every origin's model is a refit.
    rows = [origin_rows(modeling_rows, origin) for origin in split_summary["origins"]]
    models = [
        model
        for (model,) in fit_in_parallel(
            pipeline,
            classifier,
            [train for train, _ in rows],
            [param_maps[best_index]],
            cross_validation["parallelism"],
        )
    ]
    scored_rows = [
        scored(model, test) for model, (_, test) in zip(models, rows, strict=True)
    ]
    test_scores = (
        reduce(
            DataFrame.unionByName,
            [frame.select(USER, CUTOFF, LABEL, SCORE) for frame in scored_rows],
        )
        .toPandas()
        .sort_values([CUTOFF, USER], ignore_index=True)
    )
    test_scores[PREDICTION] = (test_scores[SCORE] >= threshold).astype(int)
    test_scores.insert(0, "algorithm", algorithm["estimator"])
    result = {
        "algorithm": algorithm["estimator"],
        "estimator_params": estimator_params,
        "tuned_params": best_grid,
        "feature_columns": feature_columns,
        SELECTION_METRIC: cv_auc_pr[best_index],
        "cv_auc_pr_by_grid_point": cv_auc_pr,
        "tuning_cutoffs": split_summary["tuning_cutoffs"],
        "threshold": threshold,
        "feature_weights": feature_weights(models[-1], scored_rows[-1]),
    }
    return result, test_scores[["algorithm", *TEST_SCORE_COLUMNS]]


def evaluate_baselines(
    modeling_rows: DataFrame, split_summary: dict[str, Any], one_rule_feature: str
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Two reference models that need no learning, scored on every test origin.

    - ``always_no_churn``: predicts "stays" for everyone (score 0);
    - ``one_rule``: predicts churn when ``one_rule_feature`` is above its median on the
      origin's training rows (missing values count as that median); rows are ranked by
      the feature itself.

    Returns their descriptions (with each origin's median) and test scores in the columns
    of :func:`tune_and_evaluate` plus ``algorithm``.
    """
    medians = []
    for origin in split_summary["origins"]:
        train = at_cutoffs(modeling_rows, origin["train_cutoffs"])
        median = train.approxQuantile(one_rule_feature, [0.5], 0.0)
        if not median:
            raise ValueError(
                f"The one-rule feature '{one_rule_feature}' is always missing."
            )
        medians.append(median[0])
    test = (
        at_cutoffs(modeling_rows, split_summary["test_cutoffs"])
        .select(
            USER, CUTOFF, LABEL, F.col(one_rule_feature).cast("double").alias(SCORE)
        )
        .toPandas()
        .sort_values([CUTOFF, USER], ignore_index=True)
    )
    median_of_row = test[CUTOFF].map(
        {
            pd.Timestamp(origin["test_cutoff"]): median
            for origin, median in zip(split_summary["origins"], medians, strict=True)
        }
    )
    rule = test.assign(**{SCORE: test[SCORE].fillna(median_of_row)})
    rule[PREDICTION] = (rule[SCORE] > median_of_row).astype(int)
    never = test.assign(**{SCORE: 0.0, PREDICTION: 0})
    scores = pd.concat(
        [
            never[TEST_SCORE_COLUMNS].assign(algorithm="always_no_churn"),
            rule[TEST_SCORE_COLUMNS].assign(algorithm="one_rule"),
        ],
        ignore_index=True,
    )
    descriptions = [
        {"algorithm": "always_no_churn", "estimator_params": {}, "threshold": None},
        {
            "algorithm": "one_rule",
            "estimator_params": {
                "feature": one_rule_feature,
                "above_training_median": dict(
                    zip(split_summary["test_cutoffs"], medians, strict=True)
                ),
            },
            "threshold": medians[-1],
        },
    ]
    return descriptions, scores


def refit_best_model(
    model_input_table: DataFrame,
    best_model_choice: dict[str, Any],
    training_partitions: dict[str, Any],
) -> PipelineModel:
    """The chosen pipeline refitted, class-weighted, on every labelled row.

    The rows are spread over the partitions :func:`fitting_partitions` gives for their
    number (``modeling.training_partitions``).
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
    pipeline, classifier = build_classifier_pipeline(
        best_model_choice["feature_columns"],
        best_model_choice["algorithm"],
        best_model_choice["estimator_params"],
        WEIGHT,
    )
    rows = in_stable_order(
        with_class_weights(model_input_table, n, churners),
        fitting_partitions(n, training_partitions),
    )
    with interpreted_expressions(model_input_table.sparkSession):
        (model,) = fit_grid(pipeline, classifier, rows, [{}])
    return model
