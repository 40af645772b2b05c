"""Driver-side metrics (scikit-learn, numpy): hand-computed cases, Spark equivalence,
bootstrap against a brute-force computation of each resample."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from pyspark.ml.evaluation import BinaryClassificationEvaluator

from sparkify_kedro import evaluation
from sparkify_kedro.evaluation import (
    auc_pr,
    auc_roc,
    best_f1_threshold,
    bootstrap_metrics,
    evaluate_scores,
    expected_auc_pr,
    group_multiplicities,
    lift_at_top,
    paired_difference_interval,
    percentile_interval,
    ranking_curve,
    threshold_metrics,
)


def _same(actual: float, expected: float, tolerance: float = 1e-9) -> bool:
    """Equal within ``tolerance``, NaN matching NaN."""
    if math.isnan(expected):
        return math.isnan(actual)
    return abs(actual - expected) <= tolerance


def _random_rows(seed: int, n: int, decimals: int | None = 1, churn_rate: float = 0.3):
    """Labels, scores (rounded to ``decimals`` for ties) and 0/1 predictions."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < churn_rate).astype(int)
    scores = np.clip(0.3 * labels + rng.random(n) * 0.7, 0, 1)
    if decimals is not None:
        scores = np.round(scores, decimals)
    predictions = (scores >= 0.5).astype(int)
    return labels, scores, predictions


# --- Hand-computed examples ---------------------------------------------------------


def test_within_group_ranks_by_hand():
    scores = pd.Series([0.2, 0.9, 0.2, 5.0, 1.0, 3.0, 7.0, 7.0])
    groups = ["a", "a", "a", "b", "b", "b", "c", "c"]
    # a: ties share the mean rank 1.5 of 3; b: ranks 3, 1, 2 of 3; c: a constant
    expected = [1 / 3, 5 / 6, 1 / 3, 5 / 6, 1 / 6, 1 / 2, 1 / 2, 1 / 2]
    np.testing.assert_allclose(evaluation.within_group_ranks(scores, groups), expected)
    wide = pd.DataFrame({"x": scores, "y": [*scores[:7], np.nan]})
    ranks = evaluation.within_group_ranks(wide, groups)
    np.testing.assert_allclose(ranks["x"], expected)
    assert np.isnan(ranks["y"].iloc[7]) and ranks["y"].iloc[6] == 0.5  # alone in c


def test_auc_pr_by_hand():
    # Ranked: churn 0.9, stay 0.8, churn 0.7, stay 0.1 (P = 2). Points (recall,
    # precision): 0.9 -> (1/2, 1); 0.8 -> (1/2, 1/2); 0.7 -> (1, 2/3); 0.1 -> (1, 1/2),
    # after (0, 1), the precision at the first threshold. Trapezoids:
    # 1/2 * (1 + 1) / 2 = 1/2, then 0, then 1/2 * (1/2 + 2/3) / 2 = 7/24, then 0.
    assert auc_pr([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(19 / 24)


def test_auc_pr_groups_ties_and_starts_at_the_first_precision():
    # Tied pairs: {churn, stay} at 0.9 -> (1/2, 1/2); {churn, stay} at 0.5 -> (1, 1/2);
    # stay at 0.1 -> (1, 2/5). The curve starts at (0, 1/2), not (0, 1):
    # 1/2 * (1/2 + 1/2) / 2 + 1/2 * (1/2 + 1/2) / 2 + 0 = 1/2.
    labels, scores = [1, 0, 1, 0, 0], [0.9, 0.9, 0.5, 0.5, 0.1]
    assert auc_pr(labels, scores) == pytest.approx(0.5)


def test_auc_roc_by_hand():
    # P = N = 2: churn 0.9 beats both stayers, churn 0.7 beats one (0.1): 3 / 4.
    assert auc_roc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.75)
    # Ties count 1/2: churn 0.9 vs stayers 0.9, 0.5, 0.1 -> 1/2 + 1 + 1; churn 0.5 ->
    # 0 + 1/2 + 1; (2.5 + 1.5) / (2 * 3) = 2/3.
    assert auc_roc([1, 0, 1, 0, 0], [0.9, 0.9, 0.5, 0.5, 0.1]) == pytest.approx(2 / 3)


def test_aucs_are_nan_with_one_class_and_one_for_a_perfect_ranking():
    assert math.isnan(auc_pr([0, 0, 0], [0.1, 0.5, 0.9]))
    assert math.isnan(auc_roc([1, 1], [0.1, 0.5]))
    assert math.isnan(auc_pr([], []))
    assert auc_pr([1, 1, 0, 0], [0.9, 0.8, 0.3, 0.1]) == 1.0
    assert auc_roc([1, 1, 0, 0], [0.9, 0.8, 0.3, 0.1]) == 1.0


def test_weighted_aucs_by_hand():
    # Weights 2, 1, 1: as if churn 0.9 appeared twice. Points: 0.9 -> (1, 1) after
    # (0, 1); 0.5 -> (1, 2/3); 0.1 -> (1, 1/2): AUC-PR 1. A zero weight drops the row.
    assert auc_pr([1, 0, 0], [0.9, 0.5, 0.1], weights=[2, 1, 1]) == 1.0
    # Dropping the stayer at 0.9 (weight 0) leaves churn 0.9, churn 0.5, stay 0.1.
    assert auc_roc([0, 1, 1, 0], [0.9, 0.9, 0.5, 0.1], weights=[0, 1, 1, 1]) == 1.0


def test_threshold_metrics_by_hand():
    # TP 2, FP 1, FN 2, TN 5: precision 2/3, recall 1/2, F1 = 4/7; stayers' F1 = 10/13,
    # weighted by 4 churners and 6 stayers.
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    predictions = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    metrics = threshold_metrics(labels, predictions)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(0.5)
    assert metrics["f1"] == pytest.approx(4 / 7)
    assert metrics["weighted_f1"] == pytest.approx((4 * 4 / 7 + 6 * 10 / 13) / 10)


def test_threshold_metrics_weighted_and_undefined_ratios():
    # Weights make TP 3, FP 0, FN 1, TN 0: precision 1, recall 3/4, F1 = 6/7; the
    # stayers' F1 is 0/0 -> 0, so the weighted F1 is 4 * 6/7 / 4.
    metrics = threshold_metrics([1, 1, 0], [1, 0, 1], weights=[3, 1, 0])
    assert metrics == pytest.approx(
        {"precision": 1.0, "recall": 0.75, "f1": 6 / 7, "weighted_f1": 6 / 7}
    )
    # No positive prediction: precision, recall and F1 of churn are 0.
    none = threshold_metrics([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [0] * 10)
    assert none["precision"] == none["recall"] == none["f1"] == 0.0
    assert none["weighted_f1"] == pytest.approx(0.7 * (14 / 17))


def test_lift_at_top_by_hand():
    # 20 rows, 4 churners (rate 0.2); the top 2 rows hold 1 churner (rate 0.5): 2.5.
    labels = [1, 0] + [1 if index < 3 else 0 for index in range(18)]
    scores = [0.99, 0.98] + [0.5 - index / 100 for index in range(18)]
    assert lift_at_top(labels, scores, 0.1) == pytest.approx(2.5)


def test_lift_counts_ties_on_the_boundary_pro_rata():
    # 10 rows, top ceil(0.1 * 10) = 1: the two rows tied at 0.9 hold one churner, so the
    # top holds 1 * (1 - 0) / 2 = 0.5 churner; rate 0.5 over 2 / 10 -> 2.5.
    labels = [1, 0, 1] + [0] * 7
    scores = [0.9, 0.9] + [0.1] * 8
    assert lift_at_top(labels, scores, 0.1) == pytest.approx(0.5 / (2 / 10))
    # Top ceil(0.25 * 10) = 3: both 0.9 rows (1 churner) and 1 of the 8 rows at 0.1
    # (1 churner among 8 -> 1/8): (1 + 1/8) / 3 over 2 / 10.
    assert lift_at_top(labels, scores, 0.25) == pytest.approx((1.125 / 3) / 0.2)


def test_lift_of_a_constant_score_is_exactly_one_and_nan_without_churners():
    for n_churners, n in [(3, 20), (1, 7), (5, 13), (7, 70_001)]:
        labels = [1] * n_churners + [0] * (n - n_churners)
        assert lift_at_top(labels, [0.0] * n, 0.1) == 1.0
    assert math.isnan(lift_at_top([0, 0, 0], [0.3, 0.2, 0.1]))


def test_weighted_lift_by_hand():
    # Weights 0, 1, ..: total weight 10, top 1. The first row (weight 0) is dropped, so
    # the top is the churner at 0.8: rate 1 over 2 / 10 -> 5.
    labels = [0, 1, 1, 0]
    scores = [0.9, 0.8, 0.2, 0.1]
    assert lift_at_top(labels, scores, 0.1, weights=[0, 1, 1, 8]) == pytest.approx(5.0)


def test_best_f1_threshold_by_hand():
    # Thresholds: 0.9 -> TP1 FP0, F1 = 2/(1+2) = 0.67; 0.8 -> 2/(2+2) = 0.5;
    # 0.7 -> TP2, 4/(3+2) = 0.8; 0.2 -> 4/6; 0.1 -> 4/7.
    assert best_f1_threshold([1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.2, 0.1]) == 0.7


def test_best_f1_threshold_prefers_the_highest_among_equal_f1():
    # P = 3. Score 0.9 -> 2*1/(1+3) = 1/2; score 0.5 (5 rows, 2 churners) -> 4/(5+3)
    # = 1/2; score 0.0 (10 rows) -> 6/13. The tie goes to 0.9.
    labels = [1, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    assert best_f1_threshold(labels, scores) == 0.9


def test_best_f1_threshold_needs_a_churner():
    with pytest.raises(ValueError, match="no churner"):
        best_f1_threshold([0, 0], [0.3, 0.6])


def test_importing_the_package_does_not_import_scikit_learn():
    # Spark's Python workers import the pipelines' packages (2.5 s each for sklearn).
    code = "import sys, sparkify_kedro.evaluation; print('sklearn' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="only 0 and 1"):
        auc_pr([2, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        auc_roc([1, 0], [math.nan, 0.2])
    with pytest.raises(ValueError, match="non-negative"):
        auc_pr([1, 0], [0.1, 0.2], weights=[1, -1])


def test_ranking_curve_on_ten_users_by_hand():
    # Ranked: churn, churn, stay, churn, stay, stay, churn, stay, stay, stay.
    labels = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]
    scores = [0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25, 0.15, 0.05]
    curve = ranking_curve(labels, scores, score_grid=100)
    assert len(curve) == 11
    top_3 = curve.iloc[3]
    assert top_3["threshold"] == pytest.approx(0.75)
    assert (top_3["selected"], top_3["churners_selected"]) == (3, 2)
    assert top_3["false_positive_rate"] == pytest.approx(1 / 6)
    assert top_3["lift"] == pytest.approx((2 / 3) / 0.4)


# --- Weighted = repeated rows ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(25))
def test_weights_act_as_repeated_rows(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    labels, scores, predictions = _random_rows(
        seed, n, decimals=[1, 2, None][seed % 3], churn_rate=rng.uniform(0.05, 0.6)
    )
    weights = rng.integers(0, 4, n)
    repeated = {
        name: np.repeat(values, weights)
        for name, values in [("y", labels), ("s", scores), ("p", predictions)]
    }
    pairs = [
        (auc_pr(labels, scores, weights), auc_pr(repeated["y"], repeated["s"])),
        (auc_roc(labels, scores, weights), auc_roc(repeated["y"], repeated["s"])),
    ]
    for fraction in (0.1, 0.3, 1.0):
        pairs.append(
            (
                lift_at_top(labels, scores, fraction, weights),
                lift_at_top(repeated["y"], repeated["s"], fraction),
            )
        )
    weighted = threshold_metrics(labels, predictions, weights)
    plain = threshold_metrics(repeated["y"], repeated["p"])
    pairs += [(weighted[key], plain[key]) for key in plain]
    for actual, expected in pairs:
        assert _same(actual, expected, 1e-12), (actual, expected)


# --- Equivalence with Spark's evaluator -------------------------------------------------

SPARK_CASES = [(0, 200, 1), (1, 150, 2), (2, 300, None), (3, 60, 1)]


@pytest.mark.parametrize(("seed", "n", "decimals"), SPARK_CASES)
def test_aucs_equal_sparks_evaluator(spark, seed, n, decimals):
    labels, scores, predictions = _random_rows(seed, n, decimals)
    frame = spark.createDataFrame(
        [
            (int(label), float(score), int(prediction))
            for label, score, prediction in zip(
                labels, scores, predictions, strict=True
            )
        ],
        "label int, score double, prediction int",
    ).cache()
    evaluator = BinaryClassificationEvaluator(
        rawPredictionCol="score", labelCol="label"
    )
    assert _same(
        auc_pr(labels, scores),
        evaluator.evaluate(frame, {evaluator.metricName: "areaUnderPR"}),
    )
    assert _same(
        auc_roc(labels, scores),
        evaluator.evaluate(frame, {evaluator.metricName: "areaUnderROC"}),
    )
    frame.unpersist()


def test_weighted_aucs_equal_spark_with_a_weight_column(spark):
    labels, scores, _ = _random_rows(7, 120, 1)
    weights = np.random.default_rng(7).integers(1, 5, len(labels)).astype(float)
    frame = spark.createDataFrame(
        [
            (int(label), float(score), float(weight))
            for label, score, weight in zip(labels, scores, weights, strict=True)
        ],
        "label int, score double, weight double",
    )
    evaluator = BinaryClassificationEvaluator(
        rawPredictionCol="score", labelCol="label", weightCol="weight"
    )
    for metric, ours in [("areaUnderPR", auc_pr), ("areaUnderROC", auc_roc)]:
        expected = evaluator.evaluate(frame, {evaluator.metricName: metric})
        assert _same(ours(labels, scores, weights), expected), metric


def test_aucs_equal_spark_unbinned_with_many_distinct_scores(spark):
    # Beyond 2 * numBins distinct scores the evaluator's default numBins=1000 merges
    # scores into bins; numBins=0 is the exact curve, which these functions compute.
    labels, scores, _ = _random_rows(11, 2_500, None)
    frame = spark.createDataFrame(
        [
            (int(label), float(score))
            for label, score in zip(labels, scores, strict=True)
        ],
        "label int, score double",
    )
    evaluator = BinaryClassificationEvaluator(
        rawPredictionCol="score", labelCol="label", numBins=0
    )
    for metric, ours in [("areaUnderPR", auc_pr), ("areaUnderROC", auc_roc)]:
        expected = evaluator.evaluate(frame, {evaluator.metricName: metric})
        assert _same(ours(labels, scores), expected), metric


# --- Bootstrap --------------------------------------------------------------------------


def _two_users():
    # User "a": a churner row (0.9) and a stayer row (0.4); user "b": a stayer row (0.7)
    # and a churner row (0.2), e.g. two test cutoffs each.
    labels = np.array([1, 0, 0, 1])
    scores = np.array([0.9, 0.4, 0.7, 0.2])
    groups = np.array(["a", "a", "b", "b"])
    return labels, scores, groups


def test_bootstrap_of_two_users_takes_only_the_enumerated_values():
    labels, scores, groups = _two_users()
    # Multiplicities (a, b) = (2, 0) with probability 1/4: rows of "a" twice; ranked
    # churn 0.9, stay 0.4: AUC-ROC 1, AUC-PR 1.
    # (1, 1), probability 1/2: the sample itself. ROC: churn 0.9 beats both stayers,
    # churn 0.2 none: 2/4. PR points (1/2, 1), (1/2, 1/2), (1/2, 1/3), (1, 1/2) after
    # (0, 1): 1/2 * 1 + 0 + 0 + 1/2 * (1/3 + 1/2) / 2 = 17/24.
    # (0, 2), probability 1/4: stay 0.7, churn 0.2: ROC 0; PR points (0, 0), (1, 1/2)
    # after (0, 0): 1 * (0 + 1/2) / 2 = 1/4.
    expected = {
        (2, 0): {"auc_roc": 1.0, "auc_pr": 1.0},
        (1, 1): {"auc_roc": 0.5, "auc_pr": 17 / 24},
        (0, 2): {"auc_roc": 0.0, "auc_pr": 0.25},
    }
    assert auc_pr(labels, scores) == pytest.approx(17 / 24)
    n_resamples = 2_000
    draws = bootstrap_metrics(
        labels,
        {"model": scores},
        None,
        groups,
        n_resamples,
        seed=5,
        metrics=("auc_pr", "auc_roc"),
    )["model"]
    multiplicities = group_multiplicities(2, n_resamples, seed=5)
    assert set(map(tuple, multiplicities)) == set(expected)
    for resample, pair in enumerate(map(tuple, multiplicities)):
        for metric, value in expected[pair].items():
            assert draws[metric][resample] == pytest.approx(value)
    shares = {
        pair: np.mean([tuple(row) == pair for row in multiplicities])
        for pair in expected
    }
    assert shares[(1, 1)] == pytest.approx(0.5, abs=0.05)
    assert shares[(2, 0)] == pytest.approx(0.25, abs=0.05)


def test_bootstrap_resample_with_one_class_is_nan():
    # User "a" only churns, user "b" only stays: resamples of one user have one class.
    labels = np.array([1, 1, 0])
    scores = np.array([0.8, 0.6, 0.7])
    groups = np.array([0, 0, 1])
    draws = bootstrap_metrics(
        labels, {"m": scores}, {"m": np.array([1, 0, 1])}, groups, 200, seed=1
    )["m"]
    one_class = group_multiplicities(2, 200, seed=1).min(axis=1) == 0
    assert one_class.any() and (~one_class).any()
    assert np.isnan(draws["auc_pr"][one_class]).all()
    assert np.isnan(draws["auc_roc"][one_class]).all()
    assert not np.isnan(draws["auc_pr"][~one_class]).any()
    # Threshold metrics keep their convention: defined (0 for undefined ratios).
    assert not np.isnan(draws["f1"]).any()
    low, high = percentile_interval(draws["auc_roc"])
    assert low == high == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(4))
def test_bootstrap_draws_are_the_weighted_metrics_of_the_resamples(seed):
    rng = np.random.default_rng(seed)
    n_users = 30
    groups = np.repeat(np.arange(n_users), rng.integers(1, 4, n_users))
    rng.shuffle(groups)
    labels, scores, predictions = _random_rows(seed, len(groups), [1, None][seed % 2])
    other = np.round(rng.random(len(groups)), 1)
    scores_by_model = {"model": scores, "other": other}
    predictions_by_model = {"model": predictions, "other": (other > 0.6).astype(int)}
    n_resamples = 12
    draws = bootstrap_metrics(
        labels, scores_by_model, predictions_by_model, groups, n_resamples, seed
    )
    multiplicities = group_multiplicities(n_users, n_resamples, seed)
    for resample in range(n_resamples):
        weights = multiplicities[resample][groups]
        for model, model_scores in scores_by_model.items():
            model_draws = {
                metric: values[resample] for metric, values in draws[model].items()
            }
            expected = {
                "auc_pr": auc_pr(labels, model_scores, weights),
                "auc_roc": auc_roc(labels, model_scores, weights),
                "lift_top_decile": lift_at_top(labels, model_scores, 0.1, weights),
                **threshold_metrics(labels, predictions_by_model[model], weights),
            }
            for metric, value in expected.items():
                assert _same(model_draws[metric], value, 1e-12), (model, metric)


@pytest.mark.parametrize("seed", range(6))
def test_bootstrap_draws_equal_the_metrics_of_the_resampled_rows(seed):
    # Brute force: each resample's rows materialised (a user drawn k times: its rows k
    # times), scored by the point metrics. Scores with many ties, long runs of stayers
    # between churners, users of one to five rows.
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(40), rng.integers(1, 6, 40))
    n = len(users)
    labels = (rng.random(n) < [0.05, 0.1, 0.3, 0.5, 0.15, 0.2][seed]).astype(int)
    scores_by_model = {
        "ties": np.round(rng.random(n), 1),
        "continuous": labels * 0.2 + rng.random(n),
        "constant": np.full(n, 0.5),
    }
    predictions_by_model = {
        m: (s > 0.5).astype(int) for m, s in scores_by_model.items()
    }
    draws = bootstrap_metrics(
        labels, scores_by_model, predictions_by_model, users, 15, seed, chunk_size=4
    )
    for resample, counts in enumerate(group_multiplicities(40, 15, seed)):
        rows = np.repeat(np.arange(n), counts[users])
        for model, scores in scores_by_model.items():
            y, s = labels[rows], scores[rows]
            expected = {
                "auc_pr": auc_pr(y, s),
                "auc_roc": auc_roc(y, s),
                "lift_top_decile": lift_at_top(y, s),
                **threshold_metrics(y, predictions_by_model[model][rows]),
            }
            for metric, value in expected.items():
                actual = draws[model][metric][resample]
                assert _same(actual, value, 1e-12), (model, metric, resample)


def test_bootstrap_is_reproducible_and_independent_of_the_chunk_size():
    labels, scores, predictions = _random_rows(3, 90, 1)
    groups = np.arange(90) // 3
    arguments = (labels, {"m": scores}, {"m": predictions}, groups, 25)
    first = bootstrap_metrics(*arguments, seed=8)["m"]
    for chunk_size in (1, 7, 100):
        again = bootstrap_metrics(*arguments, seed=8, chunk_size=chunk_size)["m"]
        for metric, values in first.items():
            np.testing.assert_array_equal(again[metric], values)
    other_seed = bootstrap_metrics(*arguments, seed=9)["m"]
    assert not np.array_equal(other_seed["auc_pr"], first["auc_pr"])


def test_interval_contains_the_point_estimate_in_a_well_behaved_case():
    labels, scores, predictions = _random_rows(4, 1_200, None)
    groups = np.arange(1_200) // 4
    draws = bootstrap_metrics(labels, {"m": scores}, {"m": predictions}, groups, 300, 2)
    point = evaluate_scores(labels, scores, predictions)
    for metric, values in draws["m"].items():
        low, high = percentile_interval(values)
        assert low < point[metric] < high, metric
        assert high - low < 0.3 * max(point[metric], 1.0), metric  # not degenerate


def test_identical_models_have_a_paired_interval_of_exactly_zero():
    labels, scores, predictions = _random_rows(5, 200, 1)
    groups = np.arange(200) // 2
    draws = bootstrap_metrics(
        labels,
        {"a": scores, "b": scores.copy()},
        {"a": predictions, "b": predictions.copy()},
        groups,
        100,
        seed=3,
    )
    for metric in draws["a"]:
        difference = paired_difference_interval(draws["a"][metric], draws["b"][metric])
        assert (difference["low"], difference["high"]) == (0.0, 0.0)
        assert difference["mean_difference"] == 0.0
        assert difference["excludes_zero"] is False
        assert difference["n_valid"] == 100


def test_a_perfect_model_beats_a_random_one():
    rng = np.random.default_rng(6)
    labels = (rng.random(400) < 0.25).astype(int)
    groups = np.arange(400) // 2
    draws = bootstrap_metrics(
        labels,
        {"perfect": labels * 0.5 + 0.25, "random": rng.random(400)},
        None,
        groups,
        200,
        seed=4,
        metrics=("auc_pr", "auc_roc"),
    )
    for metric in ("auc_pr", "auc_roc"):
        assert (draws["perfect"][metric] == 1.0).all()
        difference = paired_difference_interval(
            draws["perfect"][metric], draws["random"][metric]
        )
        assert difference["excludes_zero"] is True
        assert difference["low"] > 0


def test_percentile_interval():
    draws = np.append(np.arange(101.0), [np.nan, np.nan])
    assert percentile_interval(draws) == pytest.approx((2.5, 97.5))
    assert percentile_interval(draws, confidence=0.5) == pytest.approx((25.0, 75.0))
    low, high = percentile_interval([np.nan, np.nan])
    assert math.isnan(low) and math.isnan(high)


def test_paired_difference_interval_skips_undefined_resamples():
    difference = paired_difference_interval(
        [1.0, 2.0, np.nan, 3.0], [0.5, np.nan, 1.0, 1.0]
    )
    # Valid pairs: 1 - 0.5 and 3 - 1.
    assert difference["n_valid"] == 2
    assert difference["mean_difference"] == pytest.approx(1.25)
    assert difference["excludes_zero"] is True


def test_bootstrap_checks_its_arguments():
    labels, scores, _ = _random_rows(0, 10, 1)
    with pytest.raises(ValueError, match="Unknown metrics"):
        bootstrap_metrics(labels, {"m": scores}, None, np.arange(10), 5, 0, ("auc",))
    with pytest.raises(ValueError, match="predictions_by_model"):
        bootstrap_metrics(labels, {"m": scores}, None, np.arange(10), 5, 0)
    with pytest.raises(ValueError, match="groups"):
        bootstrap_metrics(labels, {"m": scores}, None, np.arange(9), 5, 0, ("auc_pr",))


def test_bootstrap_runs_on_thousands_of_rows():
    # Smoke test of the vectorised path (not timed): 5,000 rows x 200 resamples x 3.
    rng = np.random.default_rng(0)
    n = 5_000
    labels = (rng.random(n) < 0.2).astype(int)
    groups = np.arange(n) // 4
    scores_by_model = {
        f"m{index}": np.clip(labels * 0.2 + rng.random(n), 0, 1) for index in range(3)
    }
    predictions_by_model = {
        name: (s > 0.6).astype(int) for name, s in scores_by_model.items()
    }
    draws = bootstrap_metrics(
        labels, scores_by_model, predictions_by_model, groups, 200, seed=0
    )
    assert set(draws) == set(scores_by_model)
    for model_draws in draws.values():
        assert set(model_draws) == set(evaluation.BOOTSTRAP_METRICS)
        for values in model_draws.values():
            assert values.shape == (200,)
            assert np.isfinite(values).all()


# --- Expected AUC-PR over redrawn labels --------------------------------------------------


def test_expected_auc_pr_of_certain_labels_is_one():
    probabilities = np.array([1.0, 0.0, 0.0, 1.0, 0.0])
    result = expected_auc_pr(probabilities, {"noise": [0.3, 0.2, 0.9, 0.1, 0.5]}, 20, 0)
    ceiling = result[evaluation.CEILING]
    assert ceiling["mean"] == 1.0
    assert ceiling["sd"] == 0.0
    assert ceiling["sem"] == 0.0
    assert ceiling["n_valid"] == 20
    # The labels never change, so neither does the noise model's AUC-PR.
    expected = auc_pr([1, 0, 0, 1, 0], [0.3, 0.2, 0.9, 0.1, 0.5])
    np.testing.assert_allclose(result["noise"]["draws"], expected, rtol=1e-12)


def test_expected_auc_pr_pairs_models_with_the_ceiling_draw_for_draw():
    rng = np.random.default_rng(1)
    probabilities = np.round(rng.beta(1, 3, 300), 2)
    noisy = probabilities + rng.normal(0, 0.2, 300)
    result = expected_auc_pr(
        probabilities, {"same": probabilities.copy(), "noisy": noisy}, 40, seed=2
    )
    ceiling = result[evaluation.CEILING]
    np.testing.assert_array_equal(result["same"]["draws"], ceiling["draws"])
    assert result["same"]["mean"] == ceiling["mean"]
    assert result["noisy"]["mean"] < ceiling["mean"]
    assert ceiling["sem"] == pytest.approx(ceiling["sd"] / math.sqrt(40))
    # Draw d relabels the rows with the d-th row of uniforms < p, whatever the chunks.
    labels = np.random.default_rng(2).random((40, 300)) < probabilities
    for draw in (0, 17, 39):
        assert _same(
            result["noisy"]["draws"][draw],
            auc_pr(labels[draw].astype(int), noisy),
            1e-12,
        )
    chunked = expected_auc_pr(probabilities, {"noisy": noisy}, 40, seed=2, chunk_size=3)
    np.testing.assert_array_equal(chunked["noisy"]["draws"], result["noisy"]["draws"])


def test_expected_auc_pr_skips_draws_with_one_class():
    # 3 rows of probability 0.2: no churner in a draw with probability 0.512.
    result = expected_auc_pr(np.full(3, 0.2), {"m": [0.1, 0.2, 0.3]}, 50, seed=0)
    ceiling = result[evaluation.CEILING]
    assert 0 < ceiling["n_valid"] < 50
    assert np.isnan(ceiling["draws"]).sum() == 50 - ceiling["n_valid"]
    assert ceiling["mean"] == pytest.approx(np.nanmean(ceiling["draws"]))
    with pytest.raises(ValueError, match="reserved"):
        expected_auc_pr(np.full(3, 0.2), {"ceiling": [0.1, 0.2, 0.3]}, 5, seed=0)
