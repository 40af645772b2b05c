"""Platt calibration of churn scores, and how well probabilities match outcomes.

Shared by modeling (which fits the deployed model's map on its out-of-time scores:
``pipelines/modeling/calibration.py``), scoring and inference (which apply it) and the
ceiling (which checks it against the simulator's probabilities).

The map: ``p = 1 / (1 + exp(-(slope * x + intercept)))``, ``x`` the logit of a raw churn
probability. The slope comes from every row given (scikit-learn's unregularised logistic
regression); with ``level_from: latest_origin`` the intercept is then refitted on the
latest origin's rows alone, so that their mean probability equals their churn rate
(recalibration in the large): the churn rate drifts between cutoffs, and a level pooled
over every origin lags behind it.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F

logger = logging.getLogger(__name__)

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] before their logit (a forest can
#: say 0 or 1).
EPSILON = 1e-6
USER, CUTOFF, LABEL = "user_id", "cutoff", "label"


def logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-values))


def _rate_logit(labels: np.ndarray) -> float:
    rate = np.clip(labels.mean(), EPSILON, 1 - EPSILON)
    return float(math.log(rate / (1 - rate)))


def fit_platt(inputs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(slope, intercept)`` of the logistic regression of ``labels`` on ``inputs``
    (unregularised). A constant input, or a slope below 0 (scores that rank churners
    lower out of time), gives slope 0: every user gets the observed churn rate."""
    if np.ptp(inputs) > 0:
        # imported here: Spark's Python workers import this module with the pipelines'
        # packages, and scikit-learn would add 2.5 s to every worker's start
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

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
    from scipy.optimize import brentq  # noqa: PLC0415 (as fit_platt's scikit-learn)

    churners = labels.sum()
    if churners in (0, len(labels)):
        return None
    return float(
        brentq(lambda b: sigmoid(slope * inputs + b).sum() - churners, -50.0, 50.0)
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
    return sigmoid(calibration["slope"] * inputs + calibration["intercept"])


def calibrated_probability(
    raw_probability: Column, calibration: dict[str, Any]
) -> Column:
    """The Spark column of :func:`apply_platt`: ``raw_probability`` (the model's churn
    probability) clipped, to its logit, through the recorded map."""
    clipped = F.least(F.greatest(raw_probability, F.lit(EPSILON)), F.lit(1 - EPSILON))
    logit = F.log(clipped / (F.lit(1.0) - clipped))
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
