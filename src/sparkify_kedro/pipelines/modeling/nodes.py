"""Nodes of the ``modeling`` pipeline: split, tune, evaluate, select and refit.

``model_input_table`` holds one row per (``user_id``, ``cutoff``) with ``label`` (1 = the
user cancels within the horizon after the cutoff) and feature columns. The latest cutoff
is the test set; training rows are the cutoffs whose label horizon ends by then.
"""

from __future__ import annotations

import json
import logging
import math
from functools import reduce
from typing import Any

import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.tuning import CrossValidator, CrossValidatorModel, ParamGridBuilder
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.pipelines.modeling.estimators import (
    ASSEMBLED,
    LABEL,
    PROBABILITY,
    build_classifier_pipeline,
    churn_probability,
    classifier_stage,
)
from sparkify_kedro.pipelines.modeling.metrics import (
    PREDICTION,
    SCORE,
    best_f1_threshold,
    class_counts,
    evaluate_predictions,
    ranking_curve,
)

logger = logging.getLogger(__name__)

USER, CUTOFF = "user_id", "cutoff"
WEIGHT, FOLD = "class_weight", "cv_fold"
BASELINE = "baseline"
METRIC_COLUMNS = [
    "auc_pr",
    "auc_roc",
    "precision",
    "recall",
    "f1",
    "weighted_f1",
    "lift_top_decile",
]


def require_both_classes(rows: DataFrame, description: str) -> None:
    """Stop with a clear error when ``rows`` hold no churner or no non-churner."""
    n, churners = class_counts(rows)
    if churners == 0:
        raise ValueError(
            f"The {description} hold no churner (label 1) among {n} rows: a churn model "
            f"cannot be trained. Use a longer log or more users."
        )
    if churners == n:
        raise ValueError(
            f"The {description} hold no non-churner (label 0) among {n} rows: a churn "
            f"model cannot be trained."
        )


def split_out_of_time(
    model_input_table: DataFrame, horizon_days: int
) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    """Split labelled rows out of time: training rows, test rows and a summary.

    The test set is every row at the latest cutoff. Training keeps only the rows whose
    label horizon (``cutoff + horizon_days``) ends at or before the test cutoff, so no
    training label sees the test period. Fails when training lacks either class.
    """
    test_cutoff = model_input_table.agg(F.max(CUTOFF)).first()[0]
    if test_cutoff is None:
        raise ValueError("model_input_table is empty: nothing to train on.")
    horizon_end = F.timestamp_add("DAY", F.lit(horizon_days), F.col(CUTOFF))
    train = model_input_table.filter(horizon_end <= F.lit(test_cutoff))
    test = model_input_table.filter(F.col(CUTOFF) == F.lit(test_cutoff))
    if train.isEmpty():
        raise ValueError(
            f"No training rows: no cutoff is {horizon_days} days or more before the test "
            f"cutoff {test_cutoff}. The log is too short for an out-of-time split."
        )
    require_both_classes(train, "training rows")
    n_train, train_churners = class_counts(train)
    n_test, test_churners = class_counts(test)
    if test_churners in (0, n_test):
        logger.warning(
            "The test cutoff %s has %d churners among %d rows: AUCs are undefined.",
            test_cutoff,
            test_churners,
            n_test,
        )
    train_cutoffs = [row[0] for row in train.select(CUTOFF).distinct().collect()]
    summary = {
        "test_cutoff": test_cutoff.isoformat(),
        "train_cutoffs": sorted(cutoff.isoformat() for cutoff in train_cutoffs),
        "horizon_days": horizon_days,
        "n_train": n_train,
        "train_churners": train_churners,
        "n_test": n_test,
        "test_churners": test_churners,
    }
    return train, test.cache(), summary


def with_class_weights(rows: DataFrame) -> DataFrame:
    """Add ``class_weight``: ``n / (2 * n_class)``, so both classes weigh the same in total."""
    n, churners = class_counts(rows)
    churn_weight, stay_weight = n / (2 * churners), n / (2 * (n - churners))
    return rows.withColumn(
        WEIGHT,
        F.when(F.col(LABEL) == 1, F.lit(churn_weight)).otherwise(F.lit(stay_weight)),
    )


def prepare_training_rows(
    train_rows: DataFrame, num_folds: int, partitions: int
) -> DataFrame:
    """Add class weights and a cross-validation fold per user (a hash of ``user_id``).

    All rows of a user share a fold, so no user is in both the fitting and the validation
    rows of a fold. The rows are spread over ``partitions`` partitions and cached, since
    every model of every feature set reads them.
    """
    folds = F.pmod(F.xxhash64(USER), F.lit(num_folds)).cast("int")
    return in_stable_order(
        with_class_weights(train_rows).withColumn(FOLD, folds), partitions
    ).cache()


def in_stable_order(rows: DataFrame, partitions: int) -> DataFrame:
    """``rows`` hash-partitioned by user and sorted by (user, cutoff) in each partition.

    Tree ensembles draw bootstrap samples per partition in row order, and every learner
    adds partial sums in row order: a fixed placement and order make a fit independent of
    how upstream shuffles happened to arrive (local[*] or a cluster, one run or the next).
    """
    return rows.repartition(partitions, USER).sortWithinPartitions(USER, CUTOFF)


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


def _scored(model: Any, rows: DataFrame) -> DataFrame:
    """``rows`` with the model's churn probability as ``score``."""
    return model.transform(rows).withColumn(SCORE, churn_probability(PROBABILITY))


def _cross_validate(
    train_rows: DataFrame,
    feature_columns: dict[str, list[str]],
    algorithm: dict[str, Any],
    cross_validation: dict[str, Any],
) -> CrossValidatorModel:
    """Fit the algorithm's grid with user-grouped folds; keep the per-fold models."""
    pipeline, classifier = build_classifier_pipeline(
        feature_columns, algorithm["estimator"], algorithm.get("params", {}), WEIGHT
    )
    grid = ParamGridBuilder()
    for name, values in (algorithm.get("grid") or {}).items():
        grid = grid.addGrid(classifier.getParam(name), values)
    evaluator = BinaryClassificationEvaluator(
        rawPredictionCol=PROBABILITY, labelCol=LABEL, metricName="areaUnderPR"
    )
    return CrossValidator(
        estimator=pipeline,
        estimatorParamMaps=grid.build(),
        evaluator=evaluator,
        numFolds=cross_validation["num_folds"],
        foldCol=FOLD,
        parallelism=cross_validation["parallelism"],
        collectSubModels=True,
    ).fit(train_rows)


def _out_of_fold_scores(
    cv_model: CrossValidatorModel, train_rows: DataFrame, best_index: int
) -> DataFrame:
    """Each training row scored by the best grid point's model fitted without its fold."""
    parts = [
        _scored(fold_models[best_index], train_rows.filter(F.col(FOLD) == fold))
        for fold, fold_models in enumerate(cv_model.subModels)
    ]
    return reduce(DataFrame.unionByName, parts)


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
    train_rows: DataFrame,
    test_rows: DataFrame,
    feature_columns: dict[str, list[str]],
    algorithm: dict[str, Any],
    cross_validation: dict[str, Any],
    *,
    test_curve_points: int,
) -> dict[str, Any]:
    """Tune one algorithm on one feature set and evaluate it on the test rows.

    Cross-validation picks the grid point with the best mean AUC-PR; the decision
    threshold maximises F1 on the out-of-fold training scores; the model refitted on all
    training rows is scored on the test rows. Returns the chosen parameters, threshold,
    test metrics, feature weights and ``test_curve``, the ranking curve of the test
    scores (:func:`ranking_curve` records, at most ``test_curve_points + 1``): plain
    data, no Spark objects.
    """
    cv_model = _cross_validate(train_rows, feature_columns, algorithm, cross_validation)
    best_index = max(
        range(len(cv_model.avgMetrics)), key=lambda index: cv_model.avgMetrics[index]
    )
    best_grid = {
        param.name: value
        for param, value in cv_model.getEstimatorParamMaps()[best_index].items()
    }
    threshold = best_f1_threshold(_out_of_fold_scores(cv_model, train_rows, best_index))
    test_scores = _scored(cv_model.bestModel, test_rows).withColumn(
        PREDICTION, (F.col(SCORE) >= threshold).cast("int")
    )
    return {
        "algorithm": algorithm["estimator"],
        "estimator_params": {**algorithm.get("params", {}), **best_grid},
        "tuned_params": best_grid,
        "feature_columns": feature_columns,
        "cv_auc_pr": float(cv_model.avgMetrics[best_index]),
        "threshold": threshold,
        "metrics": evaluate_predictions(test_scores),
        "feature_weights": feature_weights(cv_model.bestModel, test_scores),
        "test_curve": ranking_curve(test_scores, test_curve_points).to_dict("records"),
    }


#: Separates feature set and algorithm in the keyword names of :func:`collect_model_results`.
RESULT_KEY_SEPARATOR = "__"


def collect_model_results(**results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every model's result, grouped by feature set: ``{feature_set: [result, ...]}``.

    Keyword names are ``<feature_set>__<algorithm>``; results keep the order given.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for key, result in results.items():
        feature_set, _, algorithm = key.partition(RESULT_KEY_SEPARATOR)
        if not algorithm:
            raise ValueError(
                f"Result '{key}' is not named <feature_set>{RESULT_KEY_SEPARATOR}<algorithm>."
            )
        grouped.setdefault(feature_set, []).append(result)
    return grouped


def evaluate_baselines(
    train_rows: DataFrame, test_rows: DataFrame, one_rule_feature: str
) -> list[dict[str, Any]]:
    """Test metrics of two reference models that need no learning.

    - ``always_no_churn``: predicts "stays" for everyone (score 0);
    - ``one_rule``: predicts churn when ``one_rule_feature`` is above its training median
      (missing values count as the median); rows are ranked by the feature itself.
    """
    never = test_rows.withColumn(SCORE, F.lit(0.0)).withColumn(PREDICTION, F.lit(0))
    median = train_rows.approxQuantile(one_rule_feature, [0.5], 0.0)
    if not median:
        raise ValueError(
            f"The one-rule feature '{one_rule_feature}' is always missing."
        )
    feature = F.coalesce(F.col(one_rule_feature).cast("double"), F.lit(median[0]))
    rule = test_rows.withColumn(SCORE, feature).withColumn(
        PREDICTION, (F.col(SCORE) > median[0]).cast("int")
    )
    return [
        {
            "feature_set": BASELINE,
            "algorithm": "always_no_churn",
            "estimator_params": {},
            "threshold": None,
            "metrics": evaluate_predictions(never),
        },
        {
            "feature_set": BASELINE,
            "algorithm": "one_rule",
            "estimator_params": {"feature": one_rule_feature, "above": median[0]},
            "threshold": median[0],
            "metrics": evaluate_predictions(rule),
        },
    ]


def build_model_metrics(
    baselines: list[dict[str, Any]], model_results: dict[str, list[dict[str, Any]]]
) -> pd.DataFrame:
    """One row per (feature set, algorithm) and per baseline, best test AUC-PR first.

    ``model_results`` maps each feature set's name to its models' results.
    """
    rows = [
        {
            "feature_set": result["feature_set"],
            "algorithm": result["algorithm"],
            **{column: result["metrics"][column] for column in METRIC_COLUMNS},
            "threshold": result["threshold"],
            "cv_auc_pr": result.get("cv_auc_pr"),
            "n_test": result["metrics"]["n_rows"],
            "test_churners": result["metrics"]["n_churners"],
            "params": json.dumps(result["estimator_params"], sort_keys=True),
        }
        for result in [*baselines, *_flatten(model_results)]
    ]
    return (
        pd.DataFrame(rows)
        .sort_values(["auc_pr", "cv_auc_pr"], ascending=False, na_position="last")
        .reset_index(drop=True)
    )


def _flatten(
    model_results: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Every model result in one list, each tagged with its ``feature_set``."""
    return [
        {"feature_set": feature_set, **result}
        for feature_set, results in model_results.items()
        for result in results
    ]


def build_feature_weights(
    model_results: dict[str, list[dict[str, Any]]],
) -> pd.DataFrame:
    """Feature importances (trees) and coefficients (linear models) of every model."""
    return pd.DataFrame(
        [
            {
                "feature_set": result["feature_set"],
                "algorithm": result["algorithm"],
                **weight,
            }
            for result in _flatten(model_results)
            for weight in result["feature_weights"]
        ],
        columns=["feature_set", "algorithm", "feature", "kind", "value"],
    )


def _selection_key(result: dict[str, Any]) -> tuple[float, float]:
    """Test AUC-PR (an undefined one ranks last), then CV AUC-PR."""
    auc_pr = result["metrics"]["auc_pr"]
    return (-math.inf if math.isnan(auc_pr) else auc_pr, result["cv_auc_pr"])


def _best_result(
    model_results: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The result with the best test AUC-PR (ties: best CV AUC-PR), with its feature set."""
    return max(_flatten(model_results), key=_selection_key)


def select_best_model(
    model_results: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The (algorithm, feature set) with the best test AUC-PR (ties: best CV AUC-PR).

    Returns what is needed to refit and describe it: algorithm, feature set, feature
    columns, estimator parameters, decision threshold and test metrics.
    """
    best = _best_result(model_results)
    keys = ("algorithm", "feature_set", "feature_columns", "estimator_params")
    return {
        "name": f"{best['algorithm']}/{best['feature_set']}",
        **{key: best[key] for key in keys},
        "threshold": best["threshold"],
        "test_metrics": best["metrics"],
    }


def select_best_model_test_curve(
    model_results: dict[str, list[dict[str, Any]]],
) -> pd.DataFrame:
    """The best model's ranking curve on the test rows, as a table.

    The model is the one :func:`select_best_model` picks; its ``test_curve`` records
    become one row per score threshold, highest first (columns of :func:`ranking_curve`).
    """
    return pd.DataFrame.from_records(_best_result(model_results)["test_curve"])


def refit_best_model(
    model_input_table: DataFrame, best_model_info: dict[str, Any], partitions: int
) -> PipelineModel:
    """The chosen pipeline refitted, class-weighted, on every labelled row (train + test).

    The rows are spread over ``partitions`` partitions for the fit.
    """
    require_both_classes(model_input_table, "labelled rows")
    pipeline, _ = build_classifier_pipeline(
        best_model_info["feature_columns"],
        best_model_info["algorithm"],
        best_model_info["estimator_params"],
        WEIGHT,
    )
    return pipeline.fit(
        in_stable_order(with_class_weights(model_input_table), partitions)
    )


def summarise_model_metrics(
    model_metrics: pd.DataFrame,
    split_summary: dict[str, Any],
    best_model_info: dict[str, Any],
) -> dict[str, Any]:
    """The metrics table as JSON, with the split and whether the best beats the baselines."""
    baselines = model_metrics[model_metrics["feature_set"] == BASELINE]
    best_auc_pr = best_model_info["test_metrics"]["auc_pr"]
    return {
        "primary_metric": "auc_pr",
        "split": split_summary,
        "best_model": best_model_info["name"],
        "best_beats_baselines": bool((best_auc_pr > baselines["auc_pr"]).all()),
        "models": json.loads(model_metrics.to_json(orient="records")),
    }
