"""Platt calibration of the deployed model, its honest test, and the reliability table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sparkify_kedro.calibration import (
    apply_platt,
    fit_calibration,
    fit_platt,
    reliability,
)
from sparkify_kedro.pipelines.modeling.calibration import fit_probability_calibration

ORIGINS = ["2018-10-29T00:00:00", "2018-11-05T00:00:00", "2018-11-12T00:00:00"]


def test_platt_recovers_the_map_that_drew_the_labels():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=20_000)
    labels = rng.random(20_000) < 1 / (1 + np.exp(-(0.8 * inputs - 2.0)))
    slope, intercept = fit_platt(inputs, labels.astype(int))
    assert slope == pytest.approx(0.8, abs=0.05)
    assert intercept == pytest.approx(-2.0, abs=0.05)


@pytest.mark.parametrize(
    "inputs",
    [np.zeros(8), np.array([-4.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 4.0])],
    ids=["constant scores", "scores that fall as churn rises"],
)
def test_scores_that_do_not_rank_churners_higher_give_everyone_the_rate(inputs):
    labels = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    slope, intercept = fit_platt(inputs, labels)
    assert slope == 0.0
    assert intercept == pytest.approx(math.log(0.25 / 0.75))


def test_the_latest_origin_sets_the_level_and_every_origin_the_slope():
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=4_000)
    latest = np.arange(4_000) >= 3_000
    labels = (rng.random(4_000) < np.where(latest, 0.3, 0.1)).astype(int)
    pooled = fit_calibration(inputs, labels, latest, "all_origins")
    recent = fit_calibration(inputs, labels, latest, "latest_origin")
    assert recent["slope"] == pooled["slope"]
    # the mean probability of the latest rows is their churn rate, exactly
    assert apply_platt(inputs[latest], recent).mean() == pytest.approx(
        labels[latest].mean(), abs=1e-9
    )
    assert apply_platt(inputs[latest], pooled).mean() < labels[latest].mean() - 0.1
    with pytest.raises(ValueError, match="level_from"):
        fit_calibration(inputs, labels, latest, "newest")


def test_reliability_by_hand():
    # two groups of two: (0.1, 0.1) against (0, 0), (0.3, 0.5) against (1, 1)
    error, table = reliability(
        np.array([0.5, 0.1, 0.3, 0.1]), np.array([1.0, 0.0, 1.0, 0.0]), bins=2
    )
    assert [row["n"] for row in table] == [2, 2]
    assert table[0]["mean_predicted"] == pytest.approx(0.1)
    assert table[1]["mean_predicted"] == pytest.approx(0.4)
    assert [row["mean_outcome"] for row in table] == [0.0, 1.0]
    assert error == pytest.approx(0.5 * 0.1 + 0.5 * 0.6)


def _candidate_scores(seed: int) -> pd.DataFrame:
    """A classifier's out-of-time scores at three origins, 200 users each."""
    rng = np.random.default_rng(seed)
    frames = []
    for cutoff in ORIGINS:
        scores = rng.uniform(0.05, 0.95, size=200)
        frames.append(
            pd.DataFrame(
                {
                    "model": "LogisticRegression/all",
                    "user_id": [f"u{i:03d}" for i in range(200)],
                    "cutoff": pd.Timestamp(cutoff),
                    "label": (rng.random(200) < scores / 3).astype(int),
                    "score": scores,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


CHOICE = {"name": "LogisticRegression/all", "kind": "classifier"}
SPLIT = {"origin_cutoffs": ORIGINS}
PARAMS = {"level_from": "latest_origin", "bins": 5}


def test_each_test_origin_is_calibrated_on_earlier_origins_only():
    """Property: rewriting the labels of the last origin moves no calibrated probability
    of an earlier origin, and rewriting them at the middle origin moves the last one's."""
    scores = _candidate_scores(2)
    _, test = fit_probability_calibration(scores, CHOICE, None, SPLIT, PARAMS)
    assert sorted(test["cutoff"].unique()) == [pd.Timestamp(c) for c in ORIGINS[1:]]
    for position in (1, 2):
        rewritten = scores.copy()
        at = rewritten["cutoff"] == pd.Timestamp(ORIGINS[position])
        rewritten.loc[at, "label"] = 1 - rewritten.loc[at, "label"]
        _, moved = fit_probability_calibration(rewritten, CHOICE, None, SPLIT, PARAMS)
        for cutoff in ORIGINS[1:]:
            same = np.allclose(
                test.loc[test["cutoff"] == cutoff, "churn_probability"],
                moved.loc[moved["cutoff"] == cutoff, "churn_probability"],
            )
            assert same == (pd.Timestamp(cutoff) <= pd.Timestamp(ORIGINS[position]))


def test_the_deployed_map_and_its_test_are_recorded():
    scores = _candidate_scores(3)
    calibration, test = fit_probability_calibration(scores, CHOICE, None, SPLIT, PARAMS)
    assert calibration["method"] == "platt"
    assert calibration["fitted_on"]["rows"] == 600
    latest = scores[scores["cutoff"] == pd.Timestamp(ORIGINS[-1])]
    logits = np.log(latest["score"] / (1 - latest["score"])).to_numpy()
    assert apply_platt(logits, calibration).mean() == pytest.approx(
        latest["label"].mean()
    )
    assert calibration["test"]["rows"] == len(test) == 400
    error, _ = reliability(
        test["churn_probability"].to_numpy(), test["label"].to_numpy(float), 5
    )
    assert calibration["test"]["expected_calibration_error"] == pytest.approx(error)
    assert len(calibration["test"]["reliability"]) == 5
