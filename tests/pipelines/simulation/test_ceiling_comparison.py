"""Models against the simulator's ceiling (``ceiling.compare_with_ceiling``), on hand-made rows."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from sparkify_kedro.pipelines.simulation.ceiling import (
    compare_with_ceiling,
    plot_ceiling_comparison,
    select_test_rows,
)

CUTOFFS = [datetime(2018, 11, 12), datetime(2018, 11, 19)]
N_USERS = 150
PARAMS = {"label_draws": 300, "seed": 3}


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(11)
    keys = pd.DataFrame(
        {
            "user_id": [f"u{k}" for k in range(N_USERS)] * 2,
            "cutoff": [CUTOFFS[0]] * N_USERS + [CUTOFFS[1]] * N_USERS,
        }
    )
    probability = rng.beta(0.5, 3.0, len(keys))
    keys["label"] = (rng.random(len(keys)) < probability).astype(int)
    return keys, probability


def _scores(keys, feature_set, algorithm, score):
    return keys.assign(
        feature_set=feature_set,
        algorithm=algorithm,
        score=score,
        prediction=(score > 0.5).astype(int),
    )


def _metrics(chosen):
    return pd.DataFrame(
        {
            "feature_set": ["all", "all", "baseline"],
            "algorithm": ["Oracle", "Noise", "always_no_churn"],
            "chosen": [name == chosen for name in ("Oracle", "Noise", "x")],
            "auc_pr": [0.5, 0.2, 0.15],
            "auc_pr_low": [0.4, 0.1, 0.1],
            "auc_pr_high": [0.6, 0.3, 0.2],
        }
    )


def test_each_model_against_the_ceiling(spark, rows):
    keys, probability = rows
    rng = np.random.default_rng(5)
    test_scores = pd.concat(
        [
            _scores(keys, "all", "Oracle", probability),  # ranks as the ceiling does
            _scores(keys, "all", "Noise", rng.random(len(keys))),
            _scores(keys, "baseline", "always_no_churn", np.zeros(len(keys))),
        ],
        ignore_index=True,
    )
    simulated = spark.createDataFrame(
        keys.assign(churn_probability=probability, futures=20).drop(columns="label")
    )
    table, summary = compare_with_ceiling(
        test_scores, simulated, _metrics("Oracle"), PARAMS
    )
    by_model = table.set_index("model")
    ceiling = by_model.loc["ceiling", "expected_auc_pr"]
    # the same scores as the probabilities: the ceiling, draw for draw
    assert by_model.loc["Oracle/all", "expected_auc_pr"] == pytest.approx(ceiling)
    assert by_model.loc["Oracle/all", "ratio_to_ceiling"] == pytest.approx(1.0)
    # random and constant scores: about the churn rate, the mean probability
    rate = probability.mean()
    for model in ("Noise/all", "baseline/always_no_churn"):
        assert by_model.loc[model, "expected_auc_pr"] == pytest.approx(rate, abs=0.03)
        assert by_model.loc[model, "ratio_to_ceiling"] < 0.6
    assert by_model.loc["baseline/always_no_churn", "realised_auc_pr"] == 0.15
    assert summary["chosen_model"] == "Oracle/all"
    assert summary["chosen_ratio_to_ceiling"] == pytest.approx(1.0)
    assert summary["test_rows"] == 2 * N_USERS
    assert summary["expected_churn_rate"] == pytest.approx(rate)
    assert [
        entry["rows"] for entry in summary["probabilities_against_realised_churn"]
    ] == [
        N_USERS,
        N_USERS,
    ]
    figure = plot_ceiling_comparison(table)
    bars = list(figure.data[0].x)  # best expected AUC-PR first, the ceiling as a line
    assert bars[0] == "Oracle/all"
    assert set(bars) == {"Oracle/all", "Noise/all", "baseline/always_no_churn"}
    assert figure.layout.shapes[0].y0 == pytest.approx(ceiling)


def test_a_test_row_without_a_probability_is_a_clear_error(spark, rows):
    keys, probability = rows
    test_scores = _scores(keys, "all", "Oracle", probability)
    simulated = spark.createDataFrame(
        keys.iloc[1:].assign(churn_probability=probability[1:]).drop(columns="label")
    )
    with pytest.raises(
        ValueError, match="1 test rows have no simulated churn probability"
    ):
        compare_with_ceiling(test_scores, simulated, _metrics("Oracle"), PARAMS)


def test_only_the_test_cutoffs_rows_get_futures(spark, rows):
    keys, _ = rows
    labels = spark.createDataFrame(
        pd.concat([keys, keys.assign(cutoff=datetime(2018, 11, 5))], ignore_index=True)
    )
    split = {"test_cutoffs": [cutoff.isoformat() for cutoff in CUTOFFS]}
    selected = select_test_rows(labels, split).toPandas()
    assert selected.columns.tolist() == ["user_id", "cutoff"]
    assert len(selected) == 2 * N_USERS
    assert set(selected["cutoff"]) == set(CUTOFFS)
