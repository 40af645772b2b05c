"""Platt calibration of churn scores, and how well probabilities match outcomes.

Modeling fits the deployed model's map on its out-of-time scores, scoring applies it, the
ceiling checks it against the simulator's probabilities.

The map: ``p = 1 / (1 + exp(-(slope * x + intercept)))``, ``x`` the logit of a raw churn
probability. The slope comes from every row given (an unregularised logistic regression,
its maximum likelihood by Newton's method); with ``level_from: latest_origin`` the
intercept is then refitted on the latest origin's rows alone, so that their mean
probability equals their churn rate (the churn rate drifts between cutoffs).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F

from sparkify_kedro.columns import CUTOFF, LABEL, USER

logger = logging.getLogger(__name__)

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] before their logit (a forest can
#: say 0 or 1).
EPSILON = 1e-6


def logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-values))


def _rate_logit(labels: np.ndarray) -> float:
    rate = np.clip(labels.mean(), EPSILON, 1 - EPSILON)
    return float(math.log(rate / (1 - rate)))


def _logistic_mle(
    design: np.ndarray, labels: np.ndarray, offset: np.ndarray
) -> np.ndarray | None:
    """Coefficients of the unregularised logistic regression of ``labels`` on ``design``
    (plus a fixed ``offset``), by Newton's method: the maximum likelihood, or None when it
    does not exist (separable rows)."""
    coefficients = np.zeros(design.shape[1])
    for _ in range(100):
        p = sigmoid(design @ coefficients + offset)
        gradient = design.T @ (labels - p)
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        coefficients = coefficients + step
        if np.max(np.abs(step)) < 1e-10:
            return coefficients
    return None


def fit_platt(inputs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(slope, intercept)`` of the logistic regression of ``labels`` on ``inputs``
    (unregularised). A constant input, or a slope below 0 (scores that rank churners
    lower out of time), gives slope 0: every user gets the observed churn rate."""
    if np.ptp(inputs) > 0:
        design = np.column_stack([inputs, np.ones(len(inputs))])
        fitted = _logistic_mle(design, labels.astype(float), np.zeros(len(inputs)))
        if fitted is not None and fitted[0] > 0:
            return float(fitted[0]), float(fitted[1])
        logger.warning(
            "The deployed candidate's out-of-time scores do not rise with churn (Platt "
            "slope %s): its probabilities are the churn rate for everyone.",
            "undefined" if fitted is None else f"{fitted[0]:.3g}",
        )
    return 0.0, _rate_logit(labels)


def _latest_level(inputs: np.ndarray, labels: np.ndarray, slope: float) -> float | None:
    """The intercept that makes the mean of ``sigmoid(slope * inputs + intercept)`` equal
    the churn rate of ``labels`` (None when they hold one class only)."""
    if labels.sum() in (0, len(labels)):
        return None
    (level,) = _logistic_mle(
        np.ones((len(inputs), 1)), labels.astype(float), slope * inputs
    )
    return float(level)


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
    return sigmoid(calibration["slope"] * inputs + calibration["intercept"])


def logit_column(probability: Column) -> Column:
    """The Spark column of :func:`logit`: ``probability`` clipped, to its logit."""
    clipped = F.least(F.greatest(probability, F.lit(EPSILON)), F.lit(1 - EPSILON))
    return F.log(clipped / (F.lit(1.0) - clipped))


def calibrated_probability(
    raw_probability: Column, calibration: dict[str, Any]
) -> Column:
    """The Spark column of :func:`apply_platt`: ``raw_probability`` (the model's churn
    probability) to its logit (:func:`logit_column`), through the recorded map."""
    logit = logit_column(raw_probability)
    linear = F.lit(calibration["slope"]) * logit + F.lit(calibration["intercept"])
    return F.lit(1.0) / (F.lit(1.0) + F.exp(-linear))


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
    table = [
        {
            "bin": index,
            "n": len(rows),
            "mean_predicted": float(probabilities[rows].mean()),
            "mean_outcome": float(outcomes[rows].mean()),
        }
        for index, rows in enumerate(np.array_split(order, min(bins, len(order))), 1)
    ]
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
