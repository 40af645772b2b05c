"""The deployed model's calibrated probabilities against the simulator's own.

On a simulated log the probability each test user had of churning is known (the ceiling's
``simulated_churn_probabilities``). Calibration is then checked against that truth, not
only against one noisy draw of labels: the expected calibration error and reliability table
of ``modeling.calibration`` with the simulator's probability as the outcome.

The labels are one draw, and a map fitted on them inherits that draw's luck (a level a few
points off the truth at a few hundred rows). How much of the error that alone explains is
measured too: the same procedure calibrating a perfect ranking (the simulator's own
probabilities as scores) on the same labels.
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
    """Expected calibration error of the test probabilities against the simulator's.

    ``calibrated_test_probabilities``: the deployed candidate's test rows with
    ``churn_probability`` (calibrated on the earlier origins only) and
    ``deployed_probability`` (the deployed map); ``origin_labels``: ``user_id``,
    ``cutoff``, ``label`` of every origin row; ``simulated_probabilities``: ``user_id``,
    ``cutoff``, ``churn_probability`` of the simulator. Returns both errors, the error of a
    perfect ranking calibrated the same way (module doc), and the reliability table of the
    first (``calibration_params["bins"]`` groups of equal size by predicted probability:
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
