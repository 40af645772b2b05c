"""The choice rule, the replayed procedure and its measurement, on hand-made scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sparkify_kedro.pipelines.modeling.choice import (
    choose,
    replay_choice_procedure,
    scores_on,
    select_best_model,
    within_origin_ranks,
)
from sparkify_kedro.pipelines.modeling.measurement import PROCEDURE, evaluate_models
from sparkify_kedro.pipelines.modeling.nodes import survivors

EVALUATION = {"bootstrap_resamples": 200, "confidence": 0.95, "seed": 1}
TASK = {"mode": "snapshot", "observation_days": 14, "trend_days": 7, "horizon_days": 14}
FEATURE_PARAMS = {"feature_groups": {"g": ["x"]}, "categorical_features": []}
ORIGINS = [pd.Timestamp(2018, 10, 29) + pd.Timedelta(weeks=k) for k in range(3)]
SPLIT = {
    "origin_cutoffs": [origin.isoformat() for origin in ORIGINS],
    "test_cutoffs": [origin.isoformat() for origin in ORIGINS[1:]],
}
N_USERS = 150
RULE, BASE = "baseline/one_rule", "baseline/always_no_churn"


def _candidate(model: str, simplicity: int, algorithm: str | None = None) -> dict:
    """A candidate named ``<algorithm>/<feature set>`` or ``baseline/<algorithm>``."""
    first, feature_set = model.split("/")
    baseline = first == "baseline"
    return {
        "model": model,
        "feature_set": "baseline" if baseline else feature_set,
        "algorithm": algorithm or first,
        "estimator": None if baseline else first,
        "estimator_params": {},
        "feature_columns": {"numeric": ["x"], "categorical": []},
        "simplicity": simplicity,
    }


CANDIDATES = [
    _candidate(RULE, 0, "one_rule"),
    _candidate(BASE, 1, "always_no_churn"),
    _candidate("LR/small", 2),
    _candidate("GBT/small", 3),
]


def _labels(seed: int = 5) -> np.ndarray:
    return (np.random.default_rng(seed).random(N_USERS * len(ORIGINS)) < 0.3).astype(
        int
    )


def _table(scores: dict[str, np.ndarray], labels: np.ndarray) -> pd.DataFrame:
    """Scores of each model at every origin for the same 150 users."""
    n = N_USERS * len(ORIGINS)
    frames = [
        pd.DataFrame(
            {
                "model": model,
                "user_id": [f"u{k % N_USERS}" for k in range(n)],
                "cutoff": [ORIGINS[k // N_USERS] for k in range(n)],
                "label": labels,
                "score": values,
            }
        )
        for model, values in scores.items()
    ]
    return pd.concat(frames, ignore_index=True)


def _scores(labels: np.ndarray, strength: dict[str, float], seed: int = 9) -> dict:
    """Each model: ``strength * label`` + a noise shared by all + a little of its own;
    the base rate scores 0."""
    rng = np.random.default_rng(seed)
    shared = rng.random(len(labels))
    scores = {BASE: np.zeros(len(labels))}
    for model, weight in strength.items():
        scores[model] = weight * labels + shared + 0.3 * rng.random(len(labels))
    return scores


# ------------------------------------------------------------------------- the rule
def test_a_clearly_better_candidate_wins_over_simpler_ones():
    labels = _labels()
    table = _table(
        _scores(labels, {RULE: 0.0, "LR/small": 0.2, "GBT/small": 3}), labels
    )
    rows, wide = scores_on(table, SPLIT["origin_cutoffs"])
    choice = choose(rows, wide, {c["model"]: c for c in CANDIDATES}, EVALUATION)
    assert choice["best"] == choice["pick"] == "GBT/small"
    assert choice["tied_with_best"] == ["GBT/small"]


def test_among_candidates_tied_with_the_best_the_simplest_wins():
    labels = _labels()
    # LR and GBT score the same ranking (GBT's is LR's doubled): the same AUC-PR
    scores = _scores(labels, {RULE: 0.0, "LR/small": 0.6})
    scores["GBT/small"] = 2 * scores["LR/small"]
    table = _table(scores, labels)
    candidates = {c["model"]: c for c in CANDIDATES}
    choice = choose(*scores_on(table, SPLIT["origin_cutoffs"]), candidates, EVALUATION)
    assert choice["pick"] == "LR/small"  # tied with GBT: the simpler one
    difference = choice["difference_with_best"]["GBT/small"]
    assert difference["low"] == difference["high"] == 0.0


def test_the_rule_is_chosen_when_no_classifier_beats_it_beyond_the_noise():
    labels = _labels()
    # the same signal, each with its own noise: the best point figure is luck
    scores = _scores(labels, {RULE: 0.5, "LR/small": 0.5, "GBT/small": 0.5})
    choice = select_best_model(
        _table(scores, labels), CANDIDATES, SPLIT, EVALUATION, TASK, FEATURE_PARAMS
    )
    assert choice["name"] == RULE and choice["kind"] == "rule"
    assert choice["chosen_by"]["best_on_validation"] == "GBT/small"
    assert choice["chosen_by"]["tied_with_best"] == [RULE, "LR/small", "GBT/small"]
    assert "simplest" in choice["chosen_by"]["reason"]
    # the windows and features the model was trained with, frozen for scoring
    assert (choice["churn_task"], choice["feature_params"]) == (TASK, FEATURE_PARAMS)


def test_the_deployed_choice_reads_only_candidates_that_scored_every_origin():
    labels = _labels()
    table = _table(
        _scores(labels, {RULE: 0.0, "LR/small": 0.5, "GBT/small": 3}), labels
    )
    # GBT was halved away before the last origin: it cannot be deployed
    table = table[~((table["model"] == "GBT/small") & (table["cutoff"] == ORIGINS[2]))]
    choice = select_best_model(table, CANDIDATES, SPLIT, EVALUATION, TASK, {})
    assert "GBT/small" not in choice["chosen_by"]["candidates_compared"]
    assert choice["name"] == "LR/small"


@pytest.mark.parametrize("seed", range(5))
def test_halving_keeps_the_best_half_on_the_earlier_scores(seed):
    labels = _labels(seed)
    strengths = dict(
        zip(
            ["LR/small", "GBT/small", "SVC/small", "RF/small"],
            [0.1, 2, 0.3, 1],
            strict=True,
        )
    )
    table = _table(_scores(labels, strengths, seed), labels)
    alive = [{"model": m, "simplicity": k} for k, m in enumerate(strengths)]
    kept = survivors(alive, table[table["cutoff"] == ORIGINS[0]], 0.5)
    assert [c["model"] for c in kept] == ["GBT/small", "RF/small"]  # simplest first
    assert len(survivors(alive, table, 0.3)) == 2  # ceil(0.3 * 4)
    assert len(survivors(alive[:1], table, 0.1)) == 1  # never none


# ------------------------------------------------------------------ the procedure
def test_the_procedure_picks_each_origin_from_the_earlier_ones_only():
    labels = _labels()
    table = _table(
        _scores(labels, {RULE: 0.0, "LR/small": 0.3, "GBT/small": 3}), labels
    )
    replayed = replay_choice_procedure(table, CANDIDATES, SPLIT, EVALUATION)
    assert sorted(replayed["cutoff"].unique()) == ORIGINS[1:]  # not the first origin
    assert len(replayed) == 2 * N_USERS
    assert set(replayed["model"]) == {"GBT/small"}
    # its scores are the pick's, as percentile ranks within each cutoff
    picked = table[(table["model"] == "GBT/small") & (table["cutoff"] != ORIGINS[0])]
    expected = within_origin_ranks(picked.sort_values(["cutoff", "user_id"]))
    np.testing.assert_allclose(replayed["score"], expected.to_numpy())


@pytest.mark.parametrize("seed", range(6))
def test_nothing_at_or_after_an_origin_changes_its_pick(seed):
    """Property: rewriting the labels and scores of origin k and later leaves the pick
    and the predictions of origin k as they were (no look at a test row before the pick
    is fixed)."""
    rng = np.random.default_rng(seed)
    labels = _labels(seed)
    strengths = {
        RULE: rng.random(),
        "LR/small": rng.random(),
        "GBT/small": rng.random(),
    }
    table = _table(_scores(labels, strengths, seed), labels)
    before = replay_choice_procedure(table, CANDIDATES, SPLIT, EVALUATION)
    for k in (1, 2):
        later = table["cutoff"] >= ORIGINS[k]
        rewritten = table.copy()
        rewritten.loc[later, "label"] = rng.integers(0, 2, int(later.sum()))
        rewritten.loc[later, "score"] = rng.random(int(later.sum()))
        after = replay_choice_procedure(rewritten, CANDIDATES, SPLIT, EVALUATION)
        at = before["cutoff"] == ORIGINS[k]
        assert after.loc[at, "model"].tolist() == before.loc[at, "model"].tolist()


def _measured(strengths: dict[str, float]) -> tuple:
    """The pipeline's choice, replay and measurement on scores of these strengths:
    (labels, replayed procedure, model_metrics, rolling_origin_metrics, model_comparison,
    best_model_info)."""
    labels = _labels()
    table = _table(_scores(labels, strengths), labels)
    choice = select_best_model(table, CANDIDATES, SPLIT, EVALUATION, TASK, {})
    replayed = replay_choice_procedure(table, CANDIDATES, SPLIT, EVALUATION)
    calibration = {"method": "platt", "test": {"expected_calibration_error": 0.02}}
    profile = {"rows": len(table), "features": {}, "user_ids": []}
    measured = evaluate_models(
        table, replayed, CANDIDATES, choice, SPLIT, EVALUATION, calibration, profile
    )
    return labels, replayed, *measured


def test_the_procedure_is_measured_on_its_test_rows_beside_the_baselines():
    labels, _, metrics, per_origin, comparison, info = _measured(
        {RULE: 0.2, "LR/small": 0.3, "GBT/small": 3}
    )
    test = metrics[metrics["figure"] == "test"].set_index("model")
    assert test.index.tolist() == [PROCEDURE, RULE, BASE]  # the procedure first
    assert (test["n_rows"] == 2 * N_USERS).all()
    assert test.loc[BASE, "auc_pr"] == pytest.approx(labels[N_USERS:].mean())
    assert test.loc[BASE, "recall"] == 0  # the base rate predicts no churn
    validation = metrics[metrics["figure"] == "validation"]
    assert len(validation) == len(CANDIDATES)
    assert validation["chosen"].sum() == 1
    assert validation.loc[validation["chosen"], "model"].item() == "GBT/small"
    assert validation["validation_rank"].tolist() == [1, 2, 3, 4]
    assert (validation["n_rows"] == 3 * N_USERS).all()
    for frame in (metrics, per_origin):
        rows = frame.dropna(subset=["auc_pr"])
        assert (rows["auc_pr_low"] <= rows["auc_pr"] + 1e-12).all()
        assert (rows["auc_pr"] <= rows["auc_pr_high"] + 1e-12).all()
    # a strong pick against a weak rule and the constant: both intervals above 0
    assert (
        comparison["procedure_beats_baselines"] and comparison["procedure_beats_rule"]
    )
    assert info["test_metrics"]["auc_pr"] == test.loc[PROCEDURE, "auc_pr"]
    assert info["procedure_picks"] == dict.fromkeys(SPLIT["test_cutoffs"], "GBT/small")
    assert set(per_origin.loc[per_origin["model"] == PROCEDURE, "origin"]) == set(
        SPLIT["test_cutoffs"]
    )


def test_a_procedure_that_picks_the_rule_does_not_beat_it():
    _, replayed, _, _, comparison, _ = _measured(
        {RULE: 0.8, "LR/small": 0.5, "GBT/small": 0.5}
    )
    (against_rule,) = [
        d
        for d in comparison["paired_differences"]
        if d["other"] == RULE and d["figure"] == "test"
    ]
    assert set(replayed["model"]) == {RULE}
    assert against_rule["low"] == against_rule["high"] == 0.0
    assert not comparison["procedure_beats_rule"]
