"""Churn probabilities a business can budget with: the deployed model's scores calibrated
on out-of-time data.

A classifier fitted with class weights scores as if half the users churned; the deployed
rule is a one-feature regression fitted in sample. Both rank well and mis-state the rate.
Platt scaling fixes the rate: ``p = 1 / (1 + exp(-(slope * x + intercept)))``, where ``x``
is the logit of the deployed model's own churn probability, fitted on the deployed
candidate's **rolling-origin scores**: each scored by a model that never saw that cutoff's
labels. Two parameters, so a few hundred rows and a few dozen churners fit it (isotonic
regression needs more).

The slope comes from every origin (scikit-learn's unregularised logistic regression); with
``level_from: latest_origin`` the intercept is then refitted on the latest origin alone, so
that the mean probability there equals its churn rate (recalibration in the large). The
churn rate drifts between cutoffs (on the simulated logs it rises by about a fifth from one
test cutoff to the next): a level pooled over every origin lags behind it.

- :func:`fit_probability_calibration` (a node) fits the deployed map on every origin, and
  measures the procedure honestly: at each origin after the first, a map fitted on the
  earlier origins only calibrates that origin's scores (``calibrated_test_probabilities``).
- The map is recorded in ``best_model_info["probability_calibration"]`` (saved with the
  model, at the same version) and applied by scoring and inference
  (:func:`calibrated_probability`).
- :func:`reliability` is the reliability table and expected calibration error (ECE) of
  probabilities against outcomes: the labels here, the simulator's own probabilities in
  the ceiling pipeline.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.sql import Column
from pyspark.sql import functions as F
from scipy.optimize import brentq
from sklearn.linear_model import LogisticRegression

from sparkify_kedro.estimators import classifier_stage
from sparkify_kedro.pipelines.modeling.rolling_origin import CUTOFF, LABEL, USER
from sparkify_kedro.pipelines.modeling.tuning import SCORE

logger = logging.getLogger(__name__)

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] before their logit (a forest can
#: say 0 or 1).
EPSILON = 1e-6
#: ``calibrated_test_probabilities``: the deployed candidate's calibrated out-of-time
#: probability (``churn_probability``) of every test (user, cutoff), its raw ``score``.
CALIBRATED_COLUMNS = [USER, CUTOFF, LABEL, SCORE, "churn_probability"]


def _logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-values))


def _rate_logit(labels: np.ndarray) -> float:
    rate = np.clip(labels.mean(), EPSILON, 1 - EPSILON)
    return float(math.log(rate / (1 - rate)))


def fit_platt(inputs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(slope, intercept)`` of the logistic regression of ``labels`` on ``inputs``
    (unregularised). A constant input, or a slope below 0 (scores that rank churners
    lower out of time), gives slope 0: every user gets the observed churn rate."""
    if np.ptp(inputs) > 0:
        model = LogisticRegression(C=np.inf).fit(inputs.reshape(-1, 1), labels)
        slope = float(model.coef_[0, 0])
        if slope > 0:
            return slope, float(model.intercept_[0])
        logger.warning(
            "The deployed candidate's out-of-time scores fall as churn rises (Platt "
            "slope %.3g): its probabilities are the churn rate for everyone.",
            slope,
        )
    return 0.0, _rate_logit(labels)


def _latest_level(inputs: np.ndarray, labels: np.ndarray, slope: float) -> float | None:
    """The intercept that makes the mean of ``sigmoid(slope * inputs + intercept)`` equal
    the churn rate of ``labels`` (None when they hold one class only)."""
    churners = labels.sum()
    if churners in (0, len(labels)):
        return None
    return float(
        brentq(lambda b: _sigmoid(slope * inputs + b).sum() - churners, -50.0, 50.0)
    )


def fit_calibration(
    inputs: np.ndarray, labels: np.ndarray, latest: np.ndarray, level_from: str
) -> dict[str, float]:
    """The Platt map of the module doc on ``inputs`` (logits) and ``labels``; ``latest``
    marks the rows of the latest origin, whose churn rate sets the level when
    ``level_from`` is ``latest_origin`` (``all_origins``: the pooled fit's)."""
    if level_from not in {"latest_origin", "all_origins"}:
        raise ValueError(
            f"modeling.calibration.level_from must be latest_origin or all_origins, "
            f"got {level_from!r}."
        )
    slope, intercept = fit_platt(inputs, labels)
    if level_from == "latest_origin":
        level = _latest_level(inputs[latest], labels[latest], slope)
        intercept = intercept if level is None else level
    return {"slope": slope, "intercept": intercept}


def apply_platt(inputs: np.ndarray, calibration: dict[str, float]) -> np.ndarray:
    """The calibrated probabilities of ``inputs`` (logits of raw probabilities)."""
    return _sigmoid(calibration["slope"] * inputs + calibration["intercept"])


def calibrated_probability(
    raw_probability: Column, calibration: dict[str, Any]
) -> Column:
    """The Spark column of :func:`apply_platt`: ``raw_probability`` (the model's churn
    probability) clipped, to its logit, through the recorded map."""
    clipped = F.least(F.greatest(raw_probability, F.lit(EPSILON)), F.lit(1 - EPSILON))
    logit = F.log(clipped / (F.lit(1.0) - clipped))
    linear = F.lit(calibration["slope"]) * logit + F.lit(calibration["intercept"])
    return F.lit(1.0) / (F.lit(1.0) + F.exp(-linear))


def _validation_logits(
    scores: pd.Series, kind: str, best_model: PipelineModel
) -> np.ndarray:
    """The deployed candidate's validation scores as logits of the deployed model's
    probability: a classifier's probability to its logit; the rule's feature value
    through the deployed one-feature regression (``coefficient * x + intercept``); the
    base rate, a constant."""
    values = scores.to_numpy(dtype=float)
    if kind == "classifier":
        return _logit(values)
    stage = classifier_stage(best_model)
    coefficients = stage.coefficients.toArray()
    slope = float(coefficients[0]) if kind == "rule" and coefficients.size else 0.0
    return slope * values + float(stage.intercept)


def reliability(
    probabilities: np.ndarray, outcomes: np.ndarray, bins: int
) -> tuple[float, list[dict[str, Any]]]:
    """Expected calibration error and reliability table of ``probabilities`` against
    ``outcomes`` (labels, or true probabilities).

    Rows sorted by probability are cut into ``bins`` groups of (nearly) equal size; per
    group ``n``, ``mean_predicted`` and ``mean_outcome``. ECE = sum over groups of
    ``n / N * |mean_predicted - mean_outcome|``.
    """
    order = np.argsort(probabilities, kind="stable")
    table = []
    for index, rows in enumerate(np.array_split(order, min(bins, len(order))), 1):
        table.append(
            {
                "bin": index,
                "n": len(rows),
                "mean_predicted": float(probabilities[rows].mean()),
                "mean_outcome": float(outcomes[rows].mean()),
            }
        )
    total = sum(row["n"] for row in table)
    error = sum(
        row["n"] / total * abs(row["mean_predicted"] - row["mean_outcome"])
        for row in table
    )
    return float(error), table


def calibrate_each_origin(
    own: pd.DataFrame, origins: list[pd.Timestamp], level_from: str
) -> pd.DataFrame:
    """At each origin after the first, its rows calibrated by a map fitted on the earlier
    origins only (:func:`fit_calibration`, the latest of them setting the level).

    ``own``: ``user_id``, ``cutoff``, ``label`` and ``logit`` (the input of the map) of
    every origin's rows; returns the rows after the first origin with
    ``churn_probability``."""
    frames = []
    for index, cutoff in enumerate(origins[1:], start=1):
        earlier = own[own[CUTOFF].isin(origins[:index])]
        calibration = fit_calibration(
            earlier["logit"].to_numpy(),
            earlier[LABEL].to_numpy(dtype=int),
            (earlier[CUTOFF] == origins[index - 1]).to_numpy(),
            level_from,
        )
        at = own[own[CUTOFF] == cutoff]
        frames.append(
            at.assign(
                churn_probability=apply_platt(at["logit"].to_numpy(), calibration)
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values([CUTOFF, USER])


def fit_probability_calibration(
    candidate_scores: pd.DataFrame,
    best_model_choice: dict[str, Any],
    best_model: PipelineModel,
    split_summary: dict[str, Any],
    calibration_params: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The deployed model's Platt map (module doc) and its honest test.

    Returns ``probability_calibration``: ``method``, ``slope``, ``intercept`` (fitted on
    the deployed candidate's scores at every origin, the level from
    ``calibration_params["level_from"]``), ``fitted_on`` (origins, rows, churners), and
    ``test``: the expected calibration error and reliability table
    (``calibration_params["bins"]`` groups) against the labels of the test origins, each
    calibrated by a map fitted on the earlier origins only; and
    ``calibrated_test_probabilities``: those test rows (:data:`CALIBRATED_COLUMNS`, and
    ``deployed_probability``: the deployed map on the same out-of-time scores).
    """
    level_from = calibration_params["level_from"]
    own = candidate_scores[candidate_scores["model"] == best_model_choice["name"]]
    own = own.assign(
        logit=_validation_logits(own[SCORE], best_model_choice["kind"], best_model)
    )
    origins = [pd.Timestamp(cutoff) for cutoff in split_summary["origin_cutoffs"]]
    deployed = fit_calibration(
        own["logit"].to_numpy(),
        own[LABEL].to_numpy(dtype=int),
        (own[CUTOFF] == origins[-1]).to_numpy(),
        level_from,
    )
    test = calibrate_each_origin(own, origins, level_from)
    test["deployed_probability"] = apply_platt(test["logit"].to_numpy(), deployed)
    error, table = reliability(
        test["churn_probability"].to_numpy(),
        test[LABEL].to_numpy(dtype=float),
        calibration_params["bins"],
    )
    calibration = {
        "method": "platt",
        "input": "logit of the deployed model's churn probability",
        "level_from": level_from,
        **deployed,
        "fitted_on": {
            "scores": f"{best_model_choice['name']} at every rolling origin",
            "origins": split_summary["origin_cutoffs"],
            "rows": len(own),
            "churners": int(own[LABEL].sum()),
        },
        "test": {
            "of": "at each origin after the first, the scores calibrated by a map "
            "fitted on the earlier origins only",
            "rows": len(test),
            "churners": int(test[LABEL].sum()),
            "mean_probability": float(test["churn_probability"].mean()),
            "churn_rate": float(test[LABEL].mean()),
            "expected_calibration_error": error,
            "reliability": table,
        },
    }
    columns = [*CALIBRATED_COLUMNS, "deployed_probability"]
    return calibration, test[columns].reset_index(drop=True)
