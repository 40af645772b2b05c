"""The deployed model's calibrated probabilities against the simulator's own.

On a simulated log the probability each test user had of churning is known (the ceiling's
``simulated_churn_probabilities``). Calibration is then checked against that truth, not
only against one noisy draw of labels: the expected calibration error and reliability table
of ``modeling.calibration`` with the simulator's probability as the outcome.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sparkify_kedro.pipelines.modeling.calibration import reliability

KEYS = ["user_id", "cutoff"]


def calibration_against_simulator(
    calibrated_test_probabilities: pd.DataFrame,
    simulated_probabilities: pd.DataFrame,
    bins: int,
) -> dict[str, Any]:
    """Expected calibration error of the test probabilities against the simulator's.

    ``calibrated_test_probabilities``: the deployed candidate's test rows with
    ``churn_probability`` (calibrated on the earlier origins only) and
    ``deployed_probability`` (the deployed map); ``simulated_probabilities``: ``user_id``,
    ``cutoff``, ``churn_probability`` of the simulator. Returns both errors and the
    reliability table of the first (``bins`` groups of equal size by predicted
    probability: ``mean_predicted``, ``simulator_probability``, ``observed_rate``).
    """
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
