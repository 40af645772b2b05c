"""Candidates and their fits at every rolling origin (Spark ML).

A *candidate* ranks users: a baseline (the base rate, the one-line rule) or a classifier
at one grid point on one feature set. Candidates are fitted at each origin of the plan
(``rolling_origin.py``) and score its rows, with successive halving across the origins.
"""

from __future__ import annotations

import logging
import math
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkify_kedro import evaluation
from sparkify_kedro.columns import CUTOFF, LABEL, MODEL, SCORE, USER
from sparkify_kedro.estimators import classifier_pipeline
from sparkify_kedro.pipelines.modeling.rolling_origin import (
    WEIGHT,
    origin_rows,
)
from sparkify_kedro.pipelines.modeling.tuning import (
    TrainingSet,
    grid_points,
    in_parallel,
    prepare_training_set,
    scored,
)
from sparkify_kedro.spark_tuning import small_query_settings

logger = logging.getLogger(__name__)

BASELINE = evaluation.BASELINE
#: The baselines, by their key in ``modeling.choice.simplicity_order``.
BASE_RATE, ONE_RULE = "always_no_churn", "one_rule"
#: The columns of every candidate's scores (one row per origin (user, cutoff)).
SCORE_COLUMNS = [MODEL, USER, CUTOFF, LABEL, SCORE]


def select_feature_sets(
    feature_groups: dict[str, list[str]],
    categorical_features: list[str],
    feature_sets: dict[str, list[str]],
) -> dict[str, dict[str, list[str]]]:
    """The numeric and categorical feature columns of every feature set (a list of
    groups), in the order the parameters list the sets."""
    columns_by_set = {}
    for name, groups in feature_sets.items():
        unknown = sorted(set(groups) - set(feature_groups))
        if unknown:
            raise ValueError(
                f"Feature set '{name}' names unknown feature groups {unknown}; known: "
                f"{sorted(feature_groups)}."
            )
        columns = list(dict.fromkeys(c for g in groups for c in feature_groups[g]))
        categorical = set(categorical_features)
        columns_by_set[name] = {
            "numeric": [column for column in columns if column not in categorical],
            "categorical": [column for column in columns if column in categorical],
        }
    return columns_by_set


def _grid_label(estimator: str, grid_point: dict[str, Any]) -> str:
    values = ", ".join(f"{name}={value}" for name, value in grid_point.items())
    return f"{estimator}({values})" if values else estimator


def list_candidates(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    feature_groups: dict[str, list[str]],
    categorical_features: list[str],
    feature_sets: dict[str, list[str]],
    algorithms: dict[str, dict[str, Any]],
    simplicity_order: list[str],
    one_rule_feature: str,
) -> list[dict[str, Any]]:
    """Every candidate, simplest first, with its ``simplicity`` rank (0 = simplest): in
    the order of ``modeling.choice.simplicity_order``, then of the feature sets, then of
    each grid's values. ``model`` names it in every table, e.g.
    ``LogisticRegression(regParam=0.1)/engagement``.
    """
    feature_set_columns = select_feature_sets(
        feature_groups, categorical_features, feature_sets
    )
    known = {BASE_RATE, ONE_RULE, *algorithms}
    if set(simplicity_order) != known:
        raise ValueError(
            f"modeling.choice.simplicity_order must list each of {sorted(known)} once, "
            f"got {simplicity_order}."
        )
    candidates = []
    for key in simplicity_order:
        if key in (BASE_RATE, ONE_RULE):
            columns = [one_rule_feature] if key == ONE_RULE else []
            candidates.append(
                {
                    MODEL: evaluation.model_name(BASELINE, key),
                    "feature_set": BASELINE,
                    "algorithm": key,
                    "estimator": None,
                    "estimator_params": {"feature": one_rule_feature}
                    if key == ONE_RULE
                    else {},
                    "feature_columns": {"numeric": columns, "categorical": []},
                }
            )
            continue
        algorithm = algorithms[key]
        _, classifier = classifier_pipeline(
            algorithm["estimator"], algorithm.get("params", {})
        )
        for feature_set, columns in feature_set_columns.items():
            for point in grid_points(classifier, algorithm.get("grid")):
                grid_point = {param.name: value for param, value in point.items()}
                label = _grid_label(algorithm["estimator"], grid_point)
                candidates.append(
                    {
                        MODEL: evaluation.model_name(feature_set, label),
                        "feature_set": feature_set,
                        "algorithm": algorithm["estimator"],
                        "estimator": algorithm["estimator"],
                        "estimator_params": {
                            **algorithm.get("params", {}),
                            **grid_point,
                        },
                        "feature_columns": columns,
                    }
                )
    return [
        {**candidate, "simplicity": rank} for rank, candidate in enumerate(candidates)
    ]


def prepare_origin_sets(
    modeling_rows: DataFrame,
    split_summary: dict[str, Any],
    model_candidates: list[dict[str, Any]],
    parallelism: int,
    query_execution: dict[str, Any],
) -> dict[str, list[TrainingSet]]:
    """Every (feature set, origin) training set of the classifier candidates, prepared
    once (``tuning.TrainingSet``: the preprocessing fitted on the origin's class-weighted
    training cutoffs, the origin's rows prepared with it), ``parallelism`` at a time:
    ``{feature_set: [set of each origin, in the plan's order]}``.
    """
    feature_set_columns = {
        c["feature_set"]: c["feature_columns"]
        for c in model_candidates
        if c["feature_set"] != BASELINE
    }
    origins = split_summary["origins"]
    jobs = [
        (name, origin_rows(modeling_rows, origin))
        for name in feature_set_columns
        for origin in origins
    ]
    with small_query_settings(
        modeling_rows.sparkSession, split_summary["n_rows"], query_execution
    ):
        prepared = in_parallel(
            lambda job: prepare_training_set(*job[1], feature_set_columns[job[0]]),
            jobs,
            parallelism,
        )
    sets: dict[str, list[TrainingSet]] = {name: [] for name in feature_set_columns}
    for (name, _), training_set in zip(jobs, prepared, strict=True):
        sets[name].append(training_set)
    return sets


def score_baselines(
    modeling_rows: DataFrame,
    split_summary: dict[str, Any],
    model_candidates: list[dict[str, Any]],
) -> pd.DataFrame:
    """The baselines' scores at every origin, without a fit: ``always_no_churn`` scores
    0 for everyone; ``one_rule`` scores its feature, a missing value counting as the
    feature's median on the origin's training rows (the lower middle value, as Spark's
    exact ``approxQuantile``). One collect of the feature, the rest on the driver.
    """
    (rule,) = [c for c in model_candidates if c["algorithm"] == ONE_RULE]
    feature = rule["estimator_params"]["feature"]
    planned = modeling_rows.select(
        USER, CUTOFF, LABEL, F.col(feature).cast("double").alias(SCORE)
    ).toPandas()
    frames = []
    for origin in split_summary["origins"]:
        train = planned[planned[CUTOFF].isin(pd.to_datetime(origin["train_cutoffs"]))]
        known = train[SCORE].dropna()
        if known.empty:
            raise ValueError(f"The one-rule feature '{feature}' is always missing.")
        median = float(np.quantile(known, 0.5, method="lower"))
        at = planned[planned[CUTOFF] == pd.Timestamp(origin["cutoff"])]
        frames.append(at.fillna({SCORE: median}))
    rows = pd.concat(frames, ignore_index=True)
    return pd.concat(
        [
            rows.assign(**{MODEL: rule[MODEL]}),
            rows.assign(
                **{MODEL: evaluation.model_name(BASELINE, BASE_RATE), SCORE: 0.0}
            ),
        ],
        ignore_index=True,
    )[SCORE_COLUMNS]


def pooled_auc_pr(scores: pd.DataFrame) -> pd.Series:
    """Each model's AUC-PR over all its rows in ``scores``, its scores ranked within each
    cutoff (``evaluation.within_group_ranks``; NaN without both classes)."""
    ranks = evaluation.within_group_ranks(
        scores[SCORE], [scores[MODEL], scores[CUTOFF]]
    )
    return (
        scores.assign(**{SCORE: ranks})
        .groupby(MODEL, sort=False)[[LABEL, SCORE]]
        .apply(
            lambda rows: evaluation.auc_pr(
                rows[LABEL].to_numpy(), rows[SCORE].to_numpy()
            )
        )
    )


def survivors(
    alive: list[dict[str, Any]], scores: pd.DataFrame, keep_fraction: float
) -> list[dict[str, Any]]:
    """The ``ceil(keep_fraction * len(alive))`` candidates of ``alive`` (at least one)
    with the best AUC-PR pooled over ``scores`` (their scores at the earlier origins);
    ties go to the simpler candidate. Returned simplest first."""
    figures = pooled_auc_pr(scores[scores[MODEL].isin([c[MODEL] for c in alive])])
    ranked = sorted(
        alive,
        key=lambda c: (-np.nan_to_num(figures[c[MODEL]], nan=-1.0), c["simplicity"]),
    )
    kept = ranked[: max(1, math.ceil(keep_fraction * len(alive)))]
    return sorted(kept, key=lambda c: c["simplicity"])


def _fitted(candidate: dict[str, Any], training_set: TrainingSet) -> PipelineModel:
    stages, _ = classifier_pipeline(
        candidate["estimator"], candidate["estimator_params"], WEIGHT
    )
    return stages.fit(training_set.fitting_rows())


def race_candidates(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    origin_training_sets: dict[str, list[TrainingSet]],
    baseline_scores: pd.DataFrame,
    split_summary: dict[str, Any],
    model_candidates: list[dict[str, Any]],
    rolling_origin: dict[str, Any],
    parallelism: int,
    query_execution: dict[str, Any],
) -> pd.DataFrame:
    """Every candidate's out-of-time scores: fitted at each origin, scoring its rows.

    Successive halving: every classifier candidate is fitted at the first origin; before
    each later one only the ``keep_fraction`` best (:func:`survivors`) go on. The
    baselines score every origin. An origin's fits run ``parallelism`` at a time, their
    scores come back in one collect. One row (``model``, ``user_id``, ``cutoff``,
    ``label``, ``score``) per candidate and (user, origin) it scored.
    """
    alive = sorted(
        (c for c in model_candidates if c["feature_set"] != BASELINE),
        key=lambda c: c["simplicity"],
    )
    frames = [baseline_scores[SCORE_COLUMNS]]
    fitted_frames: list[pd.DataFrame] = []
    fitted: list[int] = []
    some_set = next(iter(origin_training_sets.values()))[0]
    with small_query_settings(
        some_set.rows.sparkSession, split_summary["n_rows"], query_execution
    ):
        for index in range(len(split_summary["origins"])):
            if index:
                alive = survivors(
                    alive,
                    pd.concat(fitted_frames, ignore_index=True),
                    rolling_origin["keep_fraction"],
                )
            sets = [origin_training_sets[c["feature_set"]][index] for c in alive]
            models = in_parallel(
                lambda pair: _fitted(*pair),
                list(zip(alive, sets, strict=True)),
                parallelism,
            )
            origin_scores = reduce(
                DataFrame.unionByName,
                [
                    scored(model, training_set.scored_rows()).select(
                        F.lit(candidate[MODEL]).alias(MODEL), USER, CUTOFF, LABEL, SCORE
                    )
                    for candidate, model, training_set in zip(
                        alive, models, sets, strict=True
                    )
                ],
            ).toPandas()
            fitted_frames.append(origin_scores)
            fitted.append(len(alive))
    logger.info(
        "Candidates fitted at each origin (successive halving): %s",
        ", ".join(map(str, fitted)),
    )
    frames += fitted_frames
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values([MODEL, CUTOFF, USER], ignore_index=True, kind="stable")
