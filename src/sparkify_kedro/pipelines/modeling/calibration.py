"""Churn probabilities a business can budget with: the deployed model's scores calibrated
on out-of-time data.

Class-weighted classifiers and the in-sample rule rank well but mis-state the churn rate.
Platt scaling, ``p = 1 / (1 + exp(-(slope * x + intercept)))`` with ``x`` the logit of the
deployed model's probability, is fitted on the deployed candidate's rolling-origin scores
(each from a model that never saw that cutoff's labels): the slope on every origin, the
intercept, with ``level_from: latest_origin``, refitted on the latest origin alone so
that its mean probability equals its churn rate (the rate drifts between cutoffs). The
map is saved in ``best_model_info["probability_calibration"]`` and applied by scoring and
inference; its fit and the reliability table are in :mod:`sparkify_kedro.calibration`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel

from sparkify_kedro.calibration import (
    apply_platt,
    calibrate_each_origin,
    fit_calibration,
    logit,
    reliability,
)
from sparkify_kedro.columns import CUTOFF, LABEL, SCORE, USER
from sparkify_kedro.estimators import classifier_stage

#: ``calibrated_test_probabilities``: the deployed candidate's calibrated out-of-time
#: probability (``churn_probability``) of every test (user, cutoff), its raw ``score``.
CALIBRATED_COLUMNS = [USER, CUTOFF, LABEL, SCORE, "churn_probability"]


def _validation_logits(
    scores: pd.Series, kind: str, best_model: PipelineModel
) -> np.ndarray:
    """The deployed candidate's validation scores as logits of the deployed model's
    probability: a classifier's probability to its logit; the rule's feature value
    through the deployed one-feature regression (``coefficient * x + intercept``); the
    base rate, a constant."""
    values = scores.to_numpy(dtype=float)
    if kind == "classifier":
        return logit(values)
    stage = classifier_stage(best_model)
    coefficients = stage.coefficients.toArray()
    slope = float(coefficients[0]) if kind == "rule" and coefficients.size else 0.0
    return slope * values + float(stage.intercept)


def fit_probability_calibration(
    candidate_scores: pd.DataFrame,
    best_model_choice: dict[str, Any],
    best_model: PipelineModel,
    split_summary: dict[str, Any],
    calibration_params: dict[str, Any],
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The deployed model's Platt map (module doc) and its honest test.

    Returns ``probability_calibration`` (``method``, ``slope``, ``intercept``,
    ``fitted_on``, and ``test``: expected calibration error and reliability table,
    ``calibration_params["bins"]`` groups, of each test origin calibrated by a map fitted
    on the earlier origins only) and ``calibrated_test_probabilities`` (those test rows,
    :data:`CALIBRATED_COLUMNS` and ``deployed_probability``, the deployed map's).
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
