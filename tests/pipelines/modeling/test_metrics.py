"""Metric functions on tiny examples computed by hand."""

from __future__ import annotations

import math

import pytest

from sparkify_kedro.pipelines.modeling.metrics import (
    best_f1_threshold,
    confusion_counts,
    evaluate_predictions,
    lift_at_top,
    ranking_metrics,
    threshold_metrics,
)


def _predictions(spark, rows):
    return spark.createDataFrame(rows, "label int, score double, prediction int")


def test_best_f1_threshold_maximises_f1(spark):
    # Thresholds: 0.9 -> TP1 FP0, F1 = 2/(1+2) = 0.67; 0.8 -> TP1 FP1, F1 = 2/(2+2) = 0.5;
    # 0.7 -> TP2 FP1, F1 = 4/(3+2) = 0.8; 0.2 -> TP2 FP2, F1 = 4/6; 0.1 -> 4/7.
    rows = [(1, 0.9, 0), (0, 0.8, 0), (1, 0.7, 0), (0, 0.2, 0), (0, 0.1, 0)]
    assert best_f1_threshold(_predictions(spark, rows)) == pytest.approx(0.7)


def test_best_f1_threshold_needs_a_churner(spark):
    with pytest.raises(ValueError, match="no churner"):
        best_f1_threshold(_predictions(spark, [(0, 0.3, 0), (0, 0.6, 0)]))


def test_lift_of_the_top_decile(spark):
    # 20 rows, 4 churners (rate 0.2); the top 2 rows hold 1 churner (rate 0.5): lift 2.5.
    rows = [(1, 0.99, 0), (0, 0.98, 0)] + [
        (1 if index < 3 else 0, 0.5 - index / 100, 0) for index in range(18)
    ]
    assert lift_at_top(_predictions(spark, rows), 0.1) == pytest.approx(2.5)


def test_lift_of_a_constant_score_is_one(spark):
    rows = [(1, 0.0, 0)] * 3 + [(0, 0.0, 0)] * 17
    assert lift_at_top(_predictions(spark, rows), 0.1) == pytest.approx(1.0)


def test_lift_counts_ties_on_the_boundary_pro_rata(spark):
    # 10 rows, top 1: the two rows tied at 0.9 hold one churner -> 0.5 churner in the top.
    rows = [(1, 0.9, 0), (0, 0.9, 0)] + [(1, 0.1, 0)] + [(0, 0.1, 0)] * 7
    assert lift_at_top(_predictions(spark, rows), 0.1) == pytest.approx(0.5 / (2 / 10))


def test_threshold_metrics_by_hand():
    # TP 2, FP 1, FN 2, TN 5: precision 2/3, recall 1/2, F1 = 4/7; stayers' F1 = 10/13.
    metrics = threshold_metrics(tp=2, fp=1, fn=2, tn=5)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(0.5)
    assert metrics["f1"] == pytest.approx(4 / 7)
    assert metrics["weighted_f1"] == pytest.approx((4 * 4 / 7 + 6 * 10 / 13) / 10)


def test_threshold_metrics_without_positive_predictions():
    metrics = threshold_metrics(tp=0, fp=0, fn=3, tn=7)
    assert metrics["precision"] == metrics["recall"] == metrics["f1"] == 0.0
    assert metrics["weighted_f1"] == pytest.approx(0.7 * (14 / 17))


def test_confusion_counts(spark):
    rows = [(1, 0.9, 1), (1, 0.2, 0), (0, 0.8, 1), (0, 0.1, 0), (0, 0.1, 0)]
    assert confusion_counts(_predictions(spark, rows)) == {
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "tn": 2,
    }


def test_ranking_metrics_of_a_perfect_and_a_one_class_score(spark):
    perfect = _predictions(spark, [(1, 0.9, 1), (1, 0.8, 1), (0, 0.3, 0), (0, 0.1, 0)])
    assert ranking_metrics(perfect) == {"auc_pr": 1.0, "auc_roc": 1.0}
    one_class = _predictions(spark, [(0, 0.9, 1), (0, 0.1, 0)])
    assert all(math.isnan(value) for value in ranking_metrics(one_class).values())


def test_always_no_churn_scores_like_chance(spark):
    rows = [(1, 0.0, 0)] * 2 + [(0, 0.0, 0)] * 8
    metrics = evaluate_predictions(_predictions(spark, rows))
    assert metrics["auc_roc"] == pytest.approx(0.5)
    assert metrics["auc_pr"] == pytest.approx(0.2)
    assert metrics["f1"] == 0.0
    assert metrics["lift_top_decile"] == pytest.approx(1.0)
    assert (metrics["n_rows"], metrics["n_churners"]) == (10, 2)
