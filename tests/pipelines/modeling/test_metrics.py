"""Metric functions on tiny examples computed by hand."""

from __future__ import annotations

import math

import pytest

from sparkify_kedro.pipelines.modeling.metrics import (
    best_f1_threshold,
    confusion_counts,
    evaluate_predictions,
    lift_at_top,
    ranking_curve,
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


@pytest.fixture(scope="module")
def ten_scored_users(spark):
    # Ranked by score: churn, churn, stay, churn, stay, stay, churn, stay, stay, stay.
    labels = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]
    scores = [0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25, 0.15, 0.05]
    return spark.createDataFrame(
        list(zip(labels, scores, strict=True)), "label int, score double"
    )


def test_ranking_curve_on_ten_users_by_hand(ten_scored_users):
    curve = ranking_curve(ten_scored_users, score_grid=100)

    assert len(curve) == 11
    start = curve.iloc[0]
    assert (start["selected"], start["true_positive_rate"]) == (0, 0.0)
    top_3 = curve.iloc[3]
    assert top_3["threshold"] == pytest.approx(0.75)
    assert top_3["selected"] == 3
    assert top_3["churners_selected"] == 2
    assert top_3["share_selected"] == pytest.approx(0.3)
    assert top_3["true_positive_rate"] == pytest.approx(2 / 4)
    assert top_3["false_positive_rate"] == pytest.approx(1 / 6)
    assert top_3["precision"] == pytest.approx(2 / 3)
    assert top_3["lift"] == pytest.approx((2 / 3) / 0.4)
    end = curve.iloc[-1]
    assert (end["true_positive_rate"], end["false_positive_rate"]) == (1.0, 1.0)
    assert end["lift"] == pytest.approx(1.0)


def test_ranking_curve_groups_scores_on_the_grid(spark):
    rows = spark.createDataFrame(
        [(1, 0.501), (0, 0.509), (0, 0.2)], "label int, score double"
    )
    curve = ranking_curve(rows, score_grid=10)

    assert curve["threshold"].tolist()[1:] == pytest.approx([0.5, 0.2])
    assert curve["selected"].tolist() == [0, 2, 3]
