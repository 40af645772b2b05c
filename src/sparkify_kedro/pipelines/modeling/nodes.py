"""Nodes of the ``modeling`` pipeline: plan, tune, test out of time, select, refit.

``model_input_table`` holds one row per (``user_id``, ``cutoff``) with ``label`` (1 = the
user churns within the horizon after the cutoff) and feature columns.

Rolling-origin evaluation: each of the last ``test_cutoffs`` cutoffs is a *test origin*;
its model is trained on the cutoffs whose label horizon ends by that origin. Models are
tuned once, by user-grouped cross-validation on the training cutoffs of the earliest
origin (the *tuning cutoffs*), which are never test rows; the (algorithm, feature set) is
chosen on that cross-validated AUC-PR alone, and only then are test metrics computed.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.tuning import CrossValidator, CrossValidatorModel, ParamGridBuilder
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkify_kedro import evaluation
from sparkify_kedro.pipelines.modeling.estimators import (
    ASSEMBLED,
    LABEL,
    PROBABILITY,
    build_classifier_pipeline,
    churn_probability,
    classifier_stage,
)

logger = logging.getLogger(__name__)

USER, CUTOFF, SCORE, PREDICTION = "user_id", "cutoff", "score", "prediction"
WEIGHT, FOLD = "class_weight", "cv_fold"
BASELINE = "baseline"
#: The columns of every model's test scores (one row per test (user, cutoff)).
TEST_SCORE_COLUMNS = [USER, CUTOFF, LABEL, SCORE, PREDICTION]
#: The figure that chooses the best model, and where it comes from.
SELECTION_METRIC = "cv_auc_pr"
METRIC_COLUMNS = [
    "auc_pr",
    "auc_roc",
    "precision",
    "recall",
    "f1",
    "weighted_f1",
    "lift_top_decile",
]
#: Separates feature set and algorithm in the keyword names of the collecting nodes.
RESULT_KEY_SEPARATOR = "__"


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
        "tuning_cutoffs": tuning["train_cutoffs"],
        "n_tuning": tuning["n_train"],
        "tuning_churners": tuning["train_churners"],
        "origins": origins,
        "test_cutoffs": [origin["test_cutoff"] for origin in origins],
        "n_test": sum(origin["n_test"] for origin in origins),
        "test_churners": sum(origin["test_churners"] for origin in origins),
    }


def _at_cutoffs(rows: DataFrame, cutoffs: list[str]) -> DataFrame:
    """The rows whose cutoff is one of ``cutoffs`` (ISO timestamps)."""
    wanted = [datetime.fromisoformat(cutoff) for cutoff in cutoffs]
    return rows.filter(F.col(CUTOFF).isin(wanted))


def with_class_weights(rows: DataFrame, n: int, churners: int) -> DataFrame:
    """Add ``class_weight``: ``n / (2 * n_class)``, so both classes weigh the same in total.

    ``n`` and ``churners`` are the rows' counts (known from the plan: no job to count them).
    """
    churn_weight, stay_weight = n / (2 * churners), n / (2 * (n - churners))
    return rows.withColumn(
        WEIGHT,
        F.when(F.col(LABEL) == 1, F.lit(churn_weight)).otherwise(F.lit(stay_weight)),
    )


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
    partitions: int,
) -> DataFrame:
    """The rows of every planned cutoff with a cross-validation fold, cached.

    ``cv_fold`` is a hash of ``user_id``, so all rows of a user share a fold and no user is
    in both the fitting and the validation rows of a fold. The rows sit in ``partitions``
    stable partitions and are cached: every model of every feature set reads them.
    """
    folds = F.pmod(F.xxhash64(USER), F.lit(num_folds)).cast("int")
    return in_stable_order(
        _at_cutoffs(model_input_table, split_summary["cutoffs"]).withColumn(
            FOLD, folds
        ),
        partitions,
    ).cache()


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
    tuning_rows: DataFrame,
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
    ).fit(tuning_rows)


def _out_of_fold_scores(
    cv_model: CrossValidatorModel, tuning_rows: DataFrame, best_index: int
) -> pd.DataFrame:
    """Label and score of each tuning row, scored by the best grid point's model fitted
    without its fold (one small table: one row per tuning (user, cutoff))."""
    parts = [
        _scored(fold_models[best_index], tuning_rows.filter(F.col(FOLD) == fold))
        for fold, fold_models in enumerate(cv_model.subModels)
    ]
    return reduce(DataFrame.unionByName, parts).select(LABEL, SCORE).toPandas()


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


def _origin_rows(
    modeling_rows: DataFrame, origin: dict[str, Any]
) -> tuple[DataFrame, DataFrame]:
    """(class-weighted training rows, test rows) of one rolling origin."""
    if origin["train_churners"] in (0, origin["n_train"]):
        raise ValueError(
            f"The training rows of test cutoff {origin['test_cutoff']} hold "
            f"{origin['train_churners']} churners among {origin['n_train']} rows: a churn "
            f"model cannot be trained on them."
        )
    train = with_class_weights(
        _at_cutoffs(modeling_rows, origin["train_cutoffs"]),
        origin["n_train"],
        origin["train_churners"],
    )
    return train, _at_cutoffs(modeling_rows, [origin["test_cutoff"]])


def tune_and_evaluate(
    modeling_rows: DataFrame,
    split_summary: dict[str, Any],
    feature_columns: dict[str, list[str]],
    algorithm: dict[str, Any],
    cross_validation: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Tune one algorithm on one feature set, then score every rolling-origin test cutoff.

    Cross-validation on the tuning cutoffs picks the grid point with the best mean AUC-PR
    (``cv_auc_pr``, the figure that later chooses among models); the decision threshold
    maximises F1 on the out-of-fold tuning scores. For each test origin the tuned pipeline
    is fitted on that origin's training cutoffs (the earliest origin's model is the one
    cross-validation refitted on the tuning rows; the others are fitted in parallel) and
    scores the origin's test rows.

    Returns the result (plain data: parameters, ``cv_auc_pr``, threshold, feature weights
    of the latest origin's model) and the test scores: one row per test (user, cutoff) with
    ``algorithm`` (the estimator), ``label``, ``score`` and the thresholded ``prediction``.
    """
    tuning_rows = with_class_weights(
        _at_cutoffs(modeling_rows, split_summary["tuning_cutoffs"]),
        split_summary["n_tuning"],
        split_summary["tuning_churners"],
    )
    cv_model = _cross_validate(
        tuning_rows, feature_columns, algorithm, cross_validation
    )
    best_index = int(np.argmax(cv_model.avgMetrics))
    best_grid = {
        param.name: value
        for param, value in cv_model.getEstimatorParamMaps()[best_index].items()
    }
    estimator_params = {**algorithm.get("params", {}), **best_grid}
    out_of_fold = _out_of_fold_scores(cv_model, tuning_rows, best_index)
    threshold = evaluation.best_f1_threshold(
        out_of_fold[LABEL].to_numpy(), out_of_fold[SCORE].to_numpy()
    )
    origins = split_summary["origins"]
    pipeline, _ = build_classifier_pipeline(
        feature_columns, algorithm["estimator"], estimator_params, WEIGHT
    )
    rows = [_origin_rows(modeling_rows, origin) for origin in origins]
    with ThreadPoolExecutor(max_workers=cross_validation["parallelism"]) as pool:
        later_models = list(pool.map(pipeline.fit, [train for train, _ in rows[1:]]))
    models = [cv_model.bestModel, *later_models]
    scored = [
        _scored(model, test) for model, (_, test) in zip(models, rows, strict=True)
    ]
    test_scores = (
        reduce(
            DataFrame.unionByName,
            [frame.select(USER, CUTOFF, LABEL, SCORE) for frame in scored],
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
        SELECTION_METRIC: float(cv_model.avgMetrics[best_index]),
        "cv_auc_pr_by_grid_point": [float(value) for value in cv_model.avgMetrics],
        "tuning_cutoffs": split_summary["tuning_cutoffs"],
        "threshold": threshold,
        "feature_weights": feature_weights(models[-1], scored[-1]),
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
        train = _at_cutoffs(modeling_rows, origin["train_cutoffs"])
        median = train.approxQuantile(one_rule_feature, [0.5], 0.0)
        if not median:
            raise ValueError(
                f"The one-rule feature '{one_rule_feature}' is always missing."
            )
        medians.append(median[0])
    test = (
        _at_cutoffs(modeling_rows, split_summary["test_cutoffs"])
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


def collect_model_results(**results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every model's result, grouped by feature set: ``{feature_set: [result, ...]}``.

    Keyword names are ``<feature_set>__<algorithm>``; results keep the order given.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for key, result in results.items():
        feature_set, algorithm = _split_key(key)
        grouped.setdefault(feature_set, []).append(result)
    return grouped


def _split_key(key: str) -> tuple[str, str]:
    feature_set, _, algorithm = key.partition(RESULT_KEY_SEPARATOR)
    if not algorithm:
        raise ValueError(
            f"Result '{key}' is not named <feature_set>{RESULT_KEY_SEPARATOR}<algorithm>."
        )
    return feature_set, algorithm


def collect_test_scores(
    baseline_test_scores: pd.DataFrame, **model_test_scores: pd.DataFrame
) -> pd.DataFrame:
    """Every model's and baseline's test scores in one long table.

    Columns ``feature_set``, ``algorithm`` (the estimator's name, or the baseline's),
    then ``user_id``, ``cutoff``, ``label``, ``score``, ``prediction``. Keyword names are
    ``<feature_set>__<algorithm>`` as in :func:`collect_model_results`.
    """
    frames = [baseline_test_scores.assign(feature_set=BASELINE)]
    for key, scores in model_test_scores.items():
        feature_set, _ = _split_key(key)
        frames.append(scores.assign(feature_set=feature_set))
    return pd.concat(frames, ignore_index=True)[
        ["feature_set", "algorithm", *TEST_SCORE_COLUMNS]
    ]


def _model_name(feature_set: str, algorithm: str) -> str:
    """``LogisticRegression/all``; baselines read ``baseline/one_rule``."""
    return (
        f"{algorithm}/{feature_set}"
        if feature_set != BASELINE
        else f"{BASELINE}/{algorithm}"
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


def _ranked_on_validation(
    model_results: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Every model, best validation figure (``cv_auc_pr``) first; ties keep the order
    of the results (feature sets, then algorithms, as the pipeline lists them)."""
    return sorted(_flatten(model_results), key=lambda result: -result[SELECTION_METRIC])


def select_best_model(
    model_results: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The (algorithm, feature set) with the best cross-validated AUC-PR on the tuning
    cutoffs: the choice never sees a test row.

    Returns what is needed to refit and describe it (algorithm, feature set, feature
    columns, estimator parameters, threshold), the figure that chose it and the runner-up.
    """
    best, *others = _ranked_on_validation(model_results)
    keys = ("algorithm", "feature_set", "feature_columns", "estimator_params")
    return {
        "name": _model_name(best["feature_set"], best["algorithm"]),
        **{key: best[key] for key in keys},
        "threshold": best["threshold"],
        "chosen_by": {
            "metric": SELECTION_METRIC,
            "value": best[SELECTION_METRIC],
            "on": "user-grouped cross-validation on the tuning cutoffs",
            "tuning_cutoffs": best["tuning_cutoffs"],
        },
        "runner_up": {
            "name": _model_name(others[0]["feature_set"], others[0]["algorithm"]),
            SELECTION_METRIC: others[0][SELECTION_METRIC],
        }
        if others
        else None,
    }


def _aligned(test_scores: pd.DataFrame) -> tuple[pd.DataFrame, dict, dict]:
    """(rows, scores by model, predictions by model): every model's test scores on the
    same (user, cutoff) rows in the same order. Fails if the models scored other rows."""
    test_scores = test_scores.assign(
        model=[
            _model_name(feature_set, algorithm)
            for feature_set, algorithm in zip(
                test_scores["feature_set"], test_scores["algorithm"], strict=True
            )
        ]
    ).sort_values(["model", CUTOFF, USER], kind="stable")
    scores, predictions, rows = {}, {}, None
    for model, frame in test_scores.groupby("model", sort=False):
        keys = frame[[USER, CUTOFF, LABEL]].reset_index(drop=True)
        if rows is None:
            rows = keys
        elif not rows.equals(keys):
            raise ValueError(f"{model} scored other test rows than the other models.")
        scores[model] = frame[SCORE].to_numpy(dtype=float)
        predictions[model] = frame[PREDICTION].to_numpy(dtype=int)
    return rows, scores, predictions


def _metrics_with_intervals(
    rows: pd.DataFrame,
    scores: dict[str, np.ndarray],
    predictions: dict[str, np.ndarray],
    evaluation_params: dict[str, Any],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, np.ndarray]]]:
    """Point metrics and bootstrap intervals (users resampled) of every model on ``rows``,
    and the bootstrap draws (paired across models)."""
    labels = rows[LABEL].to_numpy(dtype=int)
    users = pd.factorize(rows[USER])[0]
    draws = evaluation.bootstrap_metrics(
        labels,
        scores,
        predictions,
        users,
        evaluation_params["bootstrap_resamples"],
        evaluation_params["seed"],
        METRIC_COLUMNS,
    )
    figures = {}
    for model, model_scores in scores.items():
        point = evaluation.evaluate_scores(labels, model_scores, predictions[model])
        for metric in METRIC_COLUMNS:
            low, high = evaluation.percentile_interval(
                draws[model][metric], evaluation_params["confidence"]
            )
            point[f"{metric}_low"], point[f"{metric}_high"] = low, high
        figures[model] = point
    return figures, draws


def _metric_row(model: str, figures: dict[str, float]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for metric in METRIC_COLUMNS:
        row[metric] = figures[metric]
        row[f"{metric}_low"] = figures[f"{metric}_low"]
        row[f"{metric}_high"] = figures[f"{metric}_high"]
    row["n_test"], row["test_churners"] = figures["n_rows"], figures["n_churners"]
    return row


def evaluate_models(
    test_scores: pd.DataFrame,
    model_results: dict[str, list[dict[str, Any]]],
    baseline_results: list[dict[str, Any]],
    best_model_choice: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Test metrics of every model and baseline, with bootstrap intervals, after the choice.

    The test rows are every rolling-origin test cutoff's rows. Intervals resample users
    (a user's rows at every test cutoff go together), ``bootstrap_resamples`` times, at
    ``confidence``; every model is scored on the same resamples, so differences are paired.

    Returns:
    - ``model_metrics``: one row per model and baseline, pooled over the test cutoffs:
      the figure that chose it (``selected_by``, ``cv_auc_pr``, ``validation_rank``;
      ``chosen`` marks the best), each metric with ``_low``/``_high``, the threshold;
    - ``rolling_origin_metrics``: the same metrics per test cutoff and pooled;
    - ``model_comparison``: paired AUC-PR differences best - runner-up and best - each
      baseline; ``best_beats_baselines`` only when every baseline's interval is above 0.
    """
    rows, scores, predictions = _aligned(test_scores)
    pooled, draws = _metrics_with_intervals(
        rows, scores, predictions, evaluation_params
    )
    per_cutoff_rows = []
    for cutoff in sorted(rows[CUTOFF].unique()):
        mask = (rows[CUTOFF] == cutoff).to_numpy()
        figures, _ = _metrics_with_intervals(
            rows[mask].reset_index(drop=True),
            {model: values[mask] for model, values in scores.items()},
            {model: values[mask] for model, values in predictions.items()},
            evaluation_params,
        )
        per_cutoff_rows += [
            {
                "model": model,
                "test_cutoff": pd.Timestamp(cutoff).isoformat(),
                **_metric_row(model, f),
            }
            for model, f in figures.items()
        ]
    per_cutoff_rows += [
        {"model": model, "test_cutoff": "pooled", **_metric_row(model, f)}
        for model, f in pooled.items()
    ]
    ranked = _ranked_on_validation(model_results)
    described = [
        *[
            {
                "feature_set": result["feature_set"],
                "algorithm": result["algorithm"],
                "selected_by": f"{SELECTION_METRIC} (cross-validation on the tuning cutoffs)",
                SELECTION_METRIC: result[SELECTION_METRIC],
                "validation_rank": rank,
                "threshold": result["threshold"],
                "params": json.dumps(result["estimator_params"], sort_keys=True),
            }
            for rank, result in enumerate(ranked, start=1)
        ],
        *[
            {
                "feature_set": BASELINE,
                "algorithm": baseline["algorithm"],
                "selected_by": "none (a fixed rule, no learning)",
                SELECTION_METRIC: None,
                "validation_rank": None,
                "threshold": baseline["threshold"],
                "params": json.dumps(baseline["estimator_params"], sort_keys=True),
            }
            for baseline in baseline_results
        ],
    ]
    table = []
    for entry in described:
        name = _model_name(entry["feature_set"], entry["algorithm"])
        table.append(
            {
                "feature_set": entry["feature_set"],
                "algorithm": entry["algorithm"],
                "chosen": name == best_model_choice["name"],
                "selected_by": entry["selected_by"],
                SELECTION_METRIC: entry[SELECTION_METRIC],
                "validation_rank": entry["validation_rank"],
                **_metric_row(name, pooled[name]),
                "threshold": entry["threshold"],
                "params": entry["params"],
            }
        )
    best = best_model_choice["name"]
    runner_up = best_model_choice["runner_up"]
    comparisons = [
        *([("runner_up", runner_up["name"])] if runner_up else []),
        *[
            ("baseline", _model_name(BASELINE, b["algorithm"]))
            for b in baseline_results
        ],
    ]
    paired = [
        {
            "comparison": f"{best} - {other}",
            "against": kind,
            "other": other,
            "metric": "auc_pr",
            **evaluation.paired_difference_interval(
                draws[best]["auc_pr"],
                draws[other]["auc_pr"],
                evaluation_params["confidence"],
            ),
        }
        for kind, other in comparisons
    ]
    against_baselines = [entry for entry in paired if entry["against"] == "baseline"]
    comparison = {
        "metric": "auc_pr",
        "confidence": evaluation_params["confidence"],
        "bootstrap_resamples": evaluation_params["bootstrap_resamples"],
        "resampled": "users (all of a user's test rows together)",
        "best_model": best,
        "chosen_by": best_model_choice["chosen_by"],
        "runner_up": runner_up["name"] if runner_up else None,
        "paired_differences": paired,
        "best_beats_runner_up": bool(runner_up) and bool(paired[0]["low"] > 0),
        "best_beats_baselines": all(entry["low"] > 0 for entry in against_baselines),
    }
    return pd.DataFrame(table), pd.DataFrame(per_cutoff_rows), comparison


def describe_best_model(
    best_model_choice: dict[str, Any],
    model_metrics: pd.DataFrame,
    model_comparison: dict[str, Any],
    split_summary: dict[str, Any],
) -> dict[str, Any]:
    """``best_model_info``: the choice, then its pooled test metrics with intervals
    (computed after the choice), the test cutoffs and whether it beats the baselines."""
    (row,) = model_metrics[model_metrics["chosen"]].to_dict("records")
    metrics = {
        key: row[key]
        for metric in METRIC_COLUMNS
        for key in (metric, f"{metric}_low", f"{metric}_high")
    }
    return {
        **best_model_choice,
        "test_cutoffs": split_summary["test_cutoffs"],
        "test_metrics": {
            **metrics,
            "n_rows": row["n_test"],
            "n_churners": row["test_churners"],
        },
        "best_beats_baselines": model_comparison["best_beats_baselines"],
    }


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


def build_best_model_test_curve(
    test_scores: pd.DataFrame, best_model_choice: dict[str, Any], test_curve_points: int
) -> pd.DataFrame:
    """The chosen model's ranking curve on its test rows (every test cutoff pooled).

    Scores are rounded down to multiples of ``1 / test_curve_points``: at most
    ``test_curve_points + 1`` thresholds after the starting row, whatever the number of
    users (columns of :func:`sparkify_kedro.evaluation.ranking_curve`).
    """
    chosen = test_scores[
        (test_scores["feature_set"] == best_model_choice["feature_set"])
        & (test_scores["algorithm"] == best_model_choice["algorithm"])
    ]
    return evaluation.ranking_curve(
        chosen[LABEL].to_numpy(), chosen[SCORE].to_numpy(), test_curve_points
    )


def refit_best_model(
    model_input_table: DataFrame, best_model_choice: dict[str, Any], partitions: int
) -> PipelineModel:
    """The chosen pipeline refitted, class-weighted, on every labelled row.

    The rows are spread over ``partitions`` partitions for the fit.
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
    pipeline, _ = build_classifier_pipeline(
        best_model_choice["feature_columns"],
        best_model_choice["algorithm"],
        best_model_choice["estimator_params"],
        WEIGHT,
    )
    return pipeline.fit(
        in_stable_order(with_class_weights(model_input_table, n, churners), partitions)
    )


def summarise_model_metrics(
    model_metrics: pd.DataFrame,
    split_summary: dict[str, Any],
    model_comparison: dict[str, Any],
) -> dict[str, Any]:
    """The metrics table as JSON, with the rolling-origin plan and the paired comparison."""
    return {
        "primary_metric": "auc_pr",
        "split": split_summary,
        **model_comparison,
        "models": json.loads(model_metrics.to_json(orient="records")),
    }
