"""Tuning, testing and refitting nodes of the ``modeling`` pipeline (Spark ML).

Each feature set's training sets (cross-validation folds, rolling origins) are prepared
once; each (algorithm, feature set) is then tuned by user-grouped cross-validation on the
tuning cutoffs, refitted on each rolling-origin training set and scored on its test cutoff
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
    classifier_pipeline,
    classifier_stage,
)
from sparkify_kedro.pipelines.modeling.rolling_origin import (
    CUTOFF,
    FOLD,
    USER,
    WEIGHT,
    at_cutoffs,
    fitting_partitions,
    in_stable_order,
    origin_rows,
    with_class_weights,
)
from sparkify_kedro.pipelines.modeling.small_jobs import small_query_settings
from sparkify_kedro.pipelines.modeling.tuning import (
    GRID_POINT,
    SCORE,
    TrainingSet,
    cross_validate,
    fit_classifier,
    fit_grid,
    grid_points,
    in_parallel,
    prepare_training_set,
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


def prepare_training_sets(
    modeling_rows: DataFrame,
    split_summary: dict[str, Any],
    feature_columns: dict[str, list[str]],
    cross_validation: dict[str, Any],
    query_execution: dict[str, Any],
) -> dict[str, list[TrainingSet]]:
    """Every training set of one feature set, prepared once for all its algorithms.

    One set per cross-validation fold (fitted on the tuning rows of the other folds,
    scoring its own; class weights of the tuning rows) and one per rolling origin (fitted
    on the origin's training cutoffs, scoring its test cutoff; the earliest origin's
    training cutoffs are the tuning cutoffs): each is the preprocessing fitted on its
    fitting rows and its rows prepared with it (``tuning.TrainingSet``), ``parallelism``
    sets at a time. Returns ``{"folds": [...], "origins": [...]}``. Its queries run
    interpreted when the plan's rows are few (``query_execution``, ``small_jobs.py``).
    """
    num_folds = cross_validation["num_folds"]
    tuning_rows = with_class_weights(
        at_cutoffs(modeling_rows, split_summary["tuning_cutoffs"]),
        split_summary["n_tuning"],
        split_summary["tuning_churners"],
    )
    sets = [(tuning_rows, F.col(FOLD) != fold) for fold in range(num_folds)] + [
        origin_rows(modeling_rows, origin) for origin in split_summary["origins"]
    ]
    with small_query_settings(
        modeling_rows.sparkSession, split_summary["n_rows"], query_execution
    ):
        prepared = in_parallel(
            lambda rows_and_fitting: prepare_training_set(
                *rows_and_fitting, feature_columns
            ),
            sets,
            cross_validation["parallelism"],
        )
    return {"folds": prepared[:num_folds], "origins": prepared[num_folds:]}


def tune_and_evaluate(
    training_sets: dict[str, list[TrainingSet]],
    split_summary: dict[str, Any],
    feature_columns: dict[str, list[str]],
    algorithm: dict[str, Any],
    *,
    cross_validation: dict[str, Any],
    query_execution: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Tune one algorithm on one feature set, then score every rolling-origin test cutoff.

    Cross-validation on the fold sets of ``training_sets`` (``tuning.py``: every fold and
    grid point fitted in parallel, the out-of-fold scores in one collect) picks the grid
    point with the best mean AUC-PR (``cv_auc_pr``, the figure that later chooses among
    models); the decision threshold maximises F1 on the best grid point's out-of-fold
    scores. On each origin set the tuned classifier is fitted (the origins in parallel)
    and scores the origin's test rows, every origin's in one collect. Only the classifier
    stages are fitted here: the preprocessing comes fitted with the sets.

    Returns the result (plain data: parameters, ``cv_auc_pr``, threshold, feature weights
    of the latest origin's model) and the test scores: one row per test (user, cutoff) with
    ``algorithm`` (the estimator), ``label``, ``score`` and the thresholded ``prediction``.
    Its queries run interpreted, not compiled, when the plan's rows are few
    (``query_execution``, ``small_jobs.py``).
    """
    stages, classifier = classifier_pipeline(
        algorithm["estimator"], algorithm.get("params", {}), WEIGHT
    )
    param_maps = grid_points(classifier, algorithm.get("grid"))
    parallelism = cross_validation["parallelism"]
    origin_sets = training_sets["origins"]
    with small_query_settings(
        origin_sets[0].rows.sparkSession, split_summary["n_rows"], query_execution
    ):
        cv_auc_pr, out_of_fold = cross_validate(
            stages, param_maps, training_sets["folds"], parallelism
        )
        best_index = int(np.argmax(cv_auc_pr))
        models = [
            model
            for (model,) in in_parallel(
                lambda origin_set: fit_classifier(
                    stages, origin_set, [param_maps[best_index]]
                ),
                origin_sets,
                parallelism,
            )
        ]
        test_scores = (
            reduce(
                DataFrame.unionByName,
                [
                    scored(model, origin_set.scored_rows()).select(
                        USER, CUTOFF, LABEL, SCORE
                    )
                    for model, origin_set in zip(models, origin_sets, strict=True)
                ],
            )
            .toPandas()
            .sort_values([CUTOFF, USER], ignore_index=True)
        )
        weights = feature_weights(models[-1], origin_sets[-1].rows)
    best_grid = {param.name: value for param, value in param_maps[best_index].items()}
    best = out_of_fold[out_of_fold[GRID_POINT] == best_index]
    threshold = evaluation.best_f1_threshold(
        best[LABEL].to_numpy(), best[SCORE].to_numpy()
    )
    test_scores[PREDICTION] = (test_scores[SCORE] >= threshold).astype(int)
    test_scores.insert(0, "algorithm", algorithm["estimator"])
    result = {
        "algorithm": algorithm["estimator"],
        "estimator_params": {**algorithm.get("params", {}), **best_grid},
        "tuned_params": best_grid,
        "feature_columns": feature_columns,
        SELECTION_METRIC: cv_auc_pr[best_index],
        "cv_auc_pr_by_grid_point": cv_auc_pr,
        "tuning_cutoffs": split_summary["tuning_cutoffs"],
        "threshold": threshold,
        "feature_weights": weights,
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
    query_execution: dict[str, Any],
) -> PipelineModel:
    """The chosen pipeline refitted, class-weighted, on every labelled row.

    The rows are spread over the partitions :func:`fitting_partitions` gives for their
    number (``modeling.training_partitions``); the fit's queries run interpreted when
    they are few (``modeling.query_execution``).
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
    with small_query_settings(model_input_table.sparkSession, n, query_execution):
        (model,) = fit_grid(pipeline, classifier, rows, [{}])
    return model
