"""The procedure and the candidates against the simulator's ceiling
(``ceiling.compare_with_ceiling``), on hand-made rows."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from sparkify_kedro import evaluation
from sparkify_kedro.pipelines.simulation.ceiling.comparison import (
    compare_with_ceiling,
    plot_ceiling_comparison,
)
from sparkify_kedro.pipelines.simulation.ceiling.probabilities import select_origin_rows

ORIGINS = [datetime(2018, 11, 5), datetime(2018, 11, 12), datetime(2018, 11, 19)]
N_USERS = 150
PARAMS = {"label_draws": 300, "seed": 3}
RULE, BASE_RATE = "baseline/one_rule", "baseline/always_no_churn"
NOISE, HALVED = "Noise/all", "Halved/all"


@pytest.fixture(scope="module")
def rows():
    """(user_id, cutoff, label) at every origin, and each row's churn probability."""
    rng = np.random.default_rng(11)
    keys = pd.DataFrame(
        {
            "user_id": [f"u{k}" for k in range(N_USERS)] * len(ORIGINS),
            "cutoff": np.repeat(ORIGINS, N_USERS),
        }
    )
    probability = rng.beta(0.5, 3.0, len(keys))
    keys["label"] = (rng.random(len(keys)) < probability).astype(int)
    return keys, probability


def _candidate_scores(keys, probability):
    """The rule ranks as the probability does (in other units), the noise at random, the
    base rate not at all; ``Halved/all`` was halved away after the first origin."""
    rng = np.random.default_rng(5)
    first = keys["cutoff"] == ORIGINS[0]
    return pd.concat(
        [
            keys.assign(model=RULE, score=10 * probability),
            keys.assign(model=NOISE, score=rng.random(len(keys))),
            keys.assign(model=BASE_RATE, score=0.0),
            keys[first].assign(model=HALVED, score=probability[first.to_numpy()]),
        ],
        ignore_index=True,
    )


def _procedure_test_scores(candidate_scores):
    """The procedure picked the rule at both test origins: its within-cutoff ranks."""
    rule = candidate_scores[
        (candidate_scores["model"] == RULE) & (candidate_scores["cutoff"] > ORIGINS[0])
    ]
    return rule.assign(
        score=evaluation.within_group_ranks(rule["score"], rule["cutoff"]),
        prediction=0,
        model=RULE,
    ).reset_index(drop=True)


def _model_metrics():
    """The realised figures: the test rows' differ from the validation rows' (the rule's
    0.31 against 0.32); the noise is deployed."""
    return pd.DataFrame(
        {
            "model": ["procedure", BASE_RATE, RULE, NOISE, RULE, BASE_RATE, HALVED],
            "figure": ["test"] * 3 + ["validation"] * 4,
            "chosen": [False, False, False, True, False, False, False],
            "auc_pr": [0.3, 0.15, 0.31, 0.2, 0.32, 0.14, 0.5],
            "auc_pr_low": [0.2, 0.1, 0.21, 0.1, 0.22, 0.1, 0.4],
            "auc_pr_high": [0.4, 0.2, 0.41, 0.3, 0.42, 0.2, 0.6],
        }
    )


CALIBRATION = {"bins": 10, "level_from": "latest_origin"}


def _calibrated(keys, probability, predicted=None):
    """The deployed candidate's calibrated test probabilities: the simulator's own unless
    ``predicted`` says otherwise."""
    test = (keys["cutoff"] > ORIGINS[0]).to_numpy()
    predicted = probability if predicted is None else predicted
    return keys[test].assign(
        score=probability[test],
        churn_probability=predicted[test],
        deployed_probability=predicted[test],
    )


def _probabilities(spark, keys, probability):
    return spark.createDataFrame(
        keys.assign(churn_probability=probability, futures=20).drop(columns="label")
    )


@pytest.fixture(scope="module")
def compared(spark, rows):
    keys, probability = rows
    candidate_scores = _candidate_scores(keys, probability)
    return compare_with_ceiling(
        candidate_scores,
        _procedure_test_scores(candidate_scores),
        _probabilities(spark, keys, probability),
        _model_metrics(),
        PARAMS,
        _calibrated(keys, probability),
        CALIBRATION,
    )


def test_each_row_set_has_its_models_and_its_ceiling(compared):
    table, _ = compared
    models = table.groupby("rows")["model"].apply(list).to_dict()
    # the ceiling first, then the best expected AUC-PR first
    assert models["test"][0] == models["validation"][0] == "ceiling"
    assert set(models["test"]) == {"ceiling", "procedure", RULE, BASE_RATE}
    # every candidate that scored every origin; the halved-away one is not compared
    assert set(models["validation"]) == {"ceiling", RULE, NOISE, BASE_RATE}
    by_model = table.set_index(["rows", "model"])
    assert by_model["chosen"].to_dict() == {
        key: key[1] == NOISE for key in by_model.index
    }
    for row_set in ("test", "validation"):
        ceiling = by_model.loc[(row_set, "ceiling"), "expected_auc_pr"]
        lines = by_model.loc[row_set]
        assert (lines["ceiling_expected_auc_pr"] == ceiling).all()
        np.testing.assert_allclose(
            lines["ratio_to_ceiling"], lines["expected_auc_pr"] / ceiling
        )
        assert (lines["expected_auc_pr"] <= ceiling).all()
    # realised figures come from model_metrics' rows of the same figure
    assert by_model.loc[("test", RULE), "realised_auc_pr"] == 0.31
    assert by_model.loc[("validation", RULE), "realised_auc_pr_high"] == 0.42
    assert by_model.loc[("test", "procedure"), "realised_auc_pr_low"] == 0.2


def test_expected_auc_pr_follows_each_models_ranking(compared, rows):
    table, summary = compared
    _, probability = rows
    by_model = table.set_index(["rows", "model"])["expected_auc_pr"]
    # the procedure picked the rule: the same ranks, the same draws, the same figure
    assert by_model["test", "procedure"] == pytest.approx(by_model["test", RULE])
    assert summary["procedure_minus_rule_expected_auc_pr"] == pytest.approx(0.0)
    # the rule ranks by the probability within each cutoff: nearly the ceiling
    assert summary["rule_ratio_to_ceiling"] > 0.9
    assert summary["rule_validation_ratio_to_ceiling"] > 0.9
    # random and constant scores: about the churn rate, the mean probability
    rate = probability.mean()
    for key in (("validation", NOISE), ("validation", BASE_RATE), ("test", BASE_RATE)):
        assert by_model[key] == pytest.approx(rate, abs=0.03)
    # the deployed noise on the validation rows, paired with the rule
    assert summary["deployed_model"] == NOISE
    assert (
        summary["deployed_validation_expected_auc_pr"] == by_model["validation", NOISE]
    )
    assert summary["deployed_minus_rule_validation_expected_auc_pr"] == pytest.approx(
        by_model["validation", NOISE] - by_model["validation", RULE]
    )
    assert summary["deployed_minus_rule_validation_expected_auc_pr_se"] > 0


def test_the_summary_counts_the_rows_and_checks_the_probabilities(compared, rows):
    table, summary = compared
    keys, probability = rows
    assert summary["test_rows"] == 2 * N_USERS
    assert summary["validation_rows"] == 3 * N_USERS
    assert summary["test_cutoffs"] == [cutoff.isoformat() for cutoff in ORIGINS[1:]]
    assert summary["ceiling_expected_auc_pr"] == table.loc[0, "expected_auc_pr"]
    assert summary["label_draws"] == PARAMS["label_draws"]
    assert summary["expected_churn_rate"] == pytest.approx(probability.mean())
    assert summary["realised_churn_rate"] == pytest.approx(keys["label"].mean())
    per_cutoff = summary["probabilities_against_realised_churn"]
    assert [(entry["rows"], entry["test"]) for entry in per_cutoff] == [
        (N_USERS, False),
        (N_USERS, True),
        (N_USERS, True),
    ]


def test_the_figure_shows_each_row_set_against_its_ceiling(compared):
    table, _ = compared
    figure = plot_ceiling_comparison(table)
    test_bars, validation_bars = (list(trace.x) for trace in figure.data)
    assert test_bars[0] in {"procedure", RULE}  # the best first; the ceilings as lines
    assert set(test_bars) == {"procedure", RULE, BASE_RATE}
    assert set(validation_bars) == {RULE, NOISE, BASE_RATE}
    ceilings = table.loc[table["model"] == "ceiling", "expected_auc_pr"]
    assert [shape.y0 for shape in figure.layout.shapes] == pytest.approx(list(ceilings))


def test_calibration_against_the_simulators_probabilities(spark, rows, compared):
    """The simulator's own probabilities are perfectly calibrated against themselves; a
    constant 0.5 is off by 0.5 less the mean probability in every group."""
    _, summary = compared
    assert summary["calibration_error_vs_simulator"] == pytest.approx(0.0, abs=1e-12)
    assert summary["calibration_rows"] == 2 * N_USERS
    reliability = summary["calibration_reliability_vs_simulator"]
    assert sum(row["n"] for row in reliability) == 2 * N_USERS
    for row in reliability:
        assert row["mean_predicted"] == pytest.approx(row["simulator_probability"])
    # a perfect ranking calibrated on one draw of labels: off, but not by much
    assert 0 < summary["perfect_ranking_calibration_error_vs_simulator"] < 0.05
    keys, probability = rows
    candidate_scores = _candidate_scores(keys, probability)
    _, constant = compare_with_ceiling(
        candidate_scores,
        _procedure_test_scores(candidate_scores),
        _probabilities(spark, keys, probability),
        _model_metrics(),
        PARAMS,
        _calibrated(keys, probability, np.full(len(keys), 0.5)),
        CALIBRATION,
    )
    test = (keys["cutoff"] > ORIGINS[0]).to_numpy()
    assert constant["calibration_error_vs_simulator"] == pytest.approx(
        0.5 - probability[test].mean()
    )


def test_an_origin_row_without_a_probability_is_a_clear_error(spark, rows):
    keys, probability = rows
    candidate_scores = _candidate_scores(keys, probability)
    with pytest.raises(
        ValueError, match="1 origin rows have no simulated churn probability"
    ):
        compare_with_ceiling(
            candidate_scores,
            _procedure_test_scores(candidate_scores),
            _probabilities(spark, keys.iloc[1:], probability[1:]),
            _model_metrics(),
            PARAMS,
            _calibrated(keys, probability),
            CALIBRATION,
        )


def test_procedure_rows_no_candidate_scored_are_a_clear_error(spark, rows):
    keys, probability = rows
    candidate_scores = _candidate_scores(keys, probability)
    procedure = _procedure_test_scores(candidate_scores)
    with pytest.raises(ValueError, match="rows no candidate scored"):
        compare_with_ceiling(
            candidate_scores[candidate_scores["user_id"] != "u0"],
            procedure,
            _probabilities(spark, keys, probability),
            _model_metrics(),
            PARAMS,
            _calibrated(keys, probability),
            CALIBRATION,
        )


def test_only_the_origins_rows_get_futures(spark, rows):
    keys, _ = rows
    labels = spark.createDataFrame(
        pd.concat([keys, keys.assign(cutoff=datetime(2018, 10, 29))], ignore_index=True)
    )
    split = {
        "origin_cutoffs": [cutoff.isoformat() for cutoff in ORIGINS],
        "test_cutoffs": [cutoff.isoformat() for cutoff in ORIGINS[1:]],
    }
    selected = select_origin_rows(labels, split).toPandas()
    assert selected.columns.tolist() == ["user_id", "cutoff"]
    assert len(selected) == 3 * N_USERS
    assert set(selected["cutoff"]) == set(ORIGINS)
