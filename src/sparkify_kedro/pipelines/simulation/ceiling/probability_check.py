"""The deployed model's calibrated probabilities against the simulator's own: the expected
calibration error and reliability table with the simulator's probability as the outcome,
beside the error of a perfect ranking calibrated the same way on the same labels (the
share a map fitted on one draw of labels cannot avoid).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sparkify_kedro.calibration import (
    EPSILON,
    calibrate_each_origin,
    reliability,
)
from sparkify_kedro.columns import KEYS


def _perfect_ranking_error(
    origin_labels: pd.DataFrame,
    simulated_probabilities: pd.DataFrame,
    calibration_params: dict[str, Any],
) -> float:
    """ECE against the simulator of its own probabilities calibrated like the deployed
    model's (each test origin on the earlier origins' labels): the error the labels' draw
    leaves to a model that ranks perfectly."""
    rows = origin_labels.merge(simulated_probabilities, on=KEYS, validate="one_to_one")
    truth = rows["churn_probability"].clip(EPSILON, 1 - EPSILON)
    own = rows[[*KEYS, "label"]].assign(logit=np.log(truth / (1 - truth)), truth=truth)
    origins = sorted(own["cutoff"].unique())
    calibrated = calibrate_each_origin(own, origins, calibration_params["level_from"])
    error, _ = reliability(
        calibrated["churn_probability"].to_numpy(),
        calibrated["truth"].to_numpy(),
        calibration_params["bins"],
    )
    return error


def calibration_against_simulator(
    calibrated_test_probabilities: pd.DataFrame,
    origin_labels: pd.DataFrame,
    simulated_probabilities: pd.DataFrame,
    calibration_params: dict[str, Any],
) -> dict[str, Any]:
    """Expected calibration error against the simulator's probabilities of the test
    rows' ``churn_probability`` (calibrated on earlier origins) and
    ``deployed_probability``, of a perfect ranking (module doc), and the first one's
    reliability table (``calibration_params["bins"]`` equal groups by prediction:
    ``mean_predicted``, ``simulator_probability``, ``observed_rate``).
    """
    bins = calibration_params["bins"]
    rows = calibrated_test_probabilities.merge(
        simulated_probabilities.rename(columns={"churn_probability": "simulator"}),
        on=KEYS,
        how="inner",
        validate="one_to_one",
    )
    if len(rows) != len(calibrated_test_probabilities):
        raise ValueError(
            f"The simulator has probabilities for {len(rows)} of the "
            f"{len(calibrated_test_probabilities)} calibrated test rows."
        )
    predicted = rows["churn_probability"].to_numpy()
    error, table = reliability(predicted, rows["simulator"].to_numpy(), bins)
    _, observed = reliability(predicted, rows["label"].to_numpy(dtype=float), bins)
    deployed_error, _ = reliability(
        rows["deployed_probability"].to_numpy(), rows["simulator"].to_numpy(), bins
    )
    return {
        "calibration_error_vs_simulator": error,
        "deployed_calibration_error_vs_simulator": deployed_error,
        "perfect_ranking_calibration_error_vs_simulator": _perfect_ranking_error(
            origin_labels, simulated_probabilities, calibration_params
        ),
        "calibration_rows": len(rows),
        "calibration_reliability_vs_simulator": [
            {
                "bin": row["bin"],
                "n": row["n"],
                "mean_predicted": row["mean_predicted"],
                "simulator_probability": row["mean_outcome"],
                "observed_rate": labelled["mean_outcome"],
            }
            for row, labelled in zip(table, observed, strict=True)
        ],
    }
