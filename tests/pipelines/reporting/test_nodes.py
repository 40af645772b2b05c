"""Reporting nodes on small hand-made tables, with the expected numbers worked out by hand."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd
import pytest
from matplotlib.figure import Figure

from sparkify_kedro.pipelines.reporting.nodes import (
    churn_rate_by_segment,
    churn_score_histogram,
    feature_histograms,
    feature_separation,
    numeric_features,
    plot_churn_rate_by_segment,
    plot_churn_rate_by_segment_png,
    plot_churn_score_distribution,
    plot_cumulative_gains,
    plot_cumulative_gains_png,
    plot_feature_distributions,
    plot_feature_weights,
    plot_model_comparison,
    plot_model_comparison_png,
    plot_roc_pr_curves,
    plot_roc_pr_curves_png,
    plot_simulation_calibration,
    ranking_curve,
    score_best_model_on_test_rows,
)

SEGMENTS = {"level": "level_at_cutoff", "gender": "gender", "platform": "platform"}


@pytest.fixture(scope="module")
def segment_rows(spark):
    return spark.createDataFrame(
        [
            ("paid", "M", "Mac", 1),
            ("paid", "F", "Windows", 0),
            ("free", "M", "Windows", 1),
            ("free", "M", "Windows", 0),
            ("free", None, "Mac", 0),
        ],
        "level_at_cutoff string, gender string, platform string, label int",
    )


def test_churn_rate_by_segment_counts_rows_and_churners_per_value(segment_rows):
    table = churn_rate_by_segment(segment_rows, SEGMENTS)

    assert list(table["segment"]) == ["level"] * 2 + ["gender"] * 3 + ["platform"] * 2
    by_key = table.set_index(["segment", "value"])
    assert by_key.loc[("level", "free"), ["rows", "churners"]].tolist() == [3, 1]
    assert by_key.loc[("level", "free"), "churn_rate"] == pytest.approx(1 / 3)
    assert by_key.loc[("level", "paid"), "churn_rate"] == 0.5
    assert by_key.loc[("gender", "M"), "churn_rate"] == pytest.approx(2 / 3)
    assert by_key.loc[("gender", "unknown"), ["rows", "churners"]].tolist() == [1, 0]
    assert by_key.loc[("platform", "Windows"), "churn_rate"] == pytest.approx(1 / 3)
    # Within a segment, the most frequent value comes first.
    assert list(table[table["segment"] == "level"]["value"]) == ["free", "paid"]


def test_churn_rate_figures_have_a_panel_per_segment(segment_rows):
    table = churn_rate_by_segment(segment_rows, SEGMENTS)

    figure = plot_churn_rate_by_segment(table)
    assert [trace.name for trace in figure.data] == list(SEGMENTS)
    assert list(figure.data[0].y) == pytest.approx([1 / 3, 0.5])
    assert len(plot_churn_rate_by_segment_png(table).axes) == 3


def test_numeric_features_leave_out_categorical_ones_and_repeats():
    groups = {"a": ["x", "level"], "b": ["y", "x"]}
    assert numeric_features(groups, ["level"]) == ["x", "y"]


@pytest.fixture(scope="module")
def separation_rows(spark):
    # x: churners 1, 3 (mean 2, var 2); others 0, 0, 2 (mean 2/3, var 4/3).
    # constant: never varies. level: categorical, left out.
    return spark.createDataFrame(
        [
            (1, 1.0, 5, "paid"),
            (1, 3.0, 5, "free"),
            (0, 0.0, 5, "free"),
            (0, 0.0, 5, "free"),
            (0, 2.0, 5, "paid"),
        ],
        "label int, x double, constant long, level string",
    )


def test_feature_separation_is_cohens_d_strongest_first(separation_rows):
    table = feature_separation(
        separation_rows, {"g": ["constant", "x", "level"]}, ["level"]
    )

    assert list(table["feature"]) == ["x", "constant"]
    x = table.iloc[0]
    assert x["mean_churners"] == 2.0
    assert x["mean_others"] == pytest.approx(2 / 3)
    # pooled variance (1 * 2 + 2 * 4/3) / 3 = 14/9, so d = (4/3) / (sqrt(14) / 3)
    assert x["effect_size"] == pytest.approx(4 / math.sqrt(14))
    assert math.isnan(table.iloc[1]["effect_size"])


def test_feature_histograms_bin_each_class_over_the_feature_range(spark):
    # others 0..7, churners 8 and 9: range [0, 9] in 3 bins of width 3; 9 joins the last.
    rows = spark.createDataFrame(
        [(0, float(value)) for value in range(8)] + [(1, 8.0), (1, 9.0)],
        "label int, x double",
    )
    separation = pd.DataFrame(
        {"feature": ["x", "flat"], "effect_size": [2.0, math.nan]}
    )

    table = feature_histograms(rows, separation, n_features=5, bins=3)

    assert set(table["feature"]) == {"x"}
    others = table[table["group"] == "others"]
    assert others["rows"].tolist() == [3, 3, 2]
    assert others["share"].tolist() == pytest.approx([3 / 8, 3 / 8, 2 / 8])
    assert others["bin_start"].tolist() == [0.0, 3.0, 6.0]
    churners = table[table["group"] == "churners"]
    assert churners[["bin", "rows", "share"]].values.tolist() == [[2, 2, 1.0]]

    figure = plot_feature_distributions(table)
    assert {trace.name for trace in figure.data} == {"churners", "others"}


@pytest.fixture
def model_metrics():
    return pd.DataFrame(
        {
            "feature_set": ["all", "all", "engagement", "engagement", "baseline"]
            + ["baseline"],
            "algorithm": ["GBTClassifier", "LogisticRegression"] * 2
            + ["one_rule", "always_no_churn"],
            "auc_pr": [0.6, 0.5, 0.4, 0.45, 0.3, 0.2],
        }
    )


def test_model_comparison_has_a_series_per_feature_set_and_baseline_lines(
    model_metrics,
):
    figure = plot_model_comparison(model_metrics)

    assert [trace.name for trace in figure.data] == ["all", "engagement"]
    assert list(figure.data[1].y) == [0.4, 0.45]
    assert sorted(shape.y0 for shape in figure.layout.shapes) == [0.2, 0.3]

    png = plot_model_comparison_png(model_metrics)
    ax = png.axes[0]
    assert len(ax.patches) == 4
    assert sorted(line.get_ydata()[0] for line in ax.lines) == [0.2, 0.3]


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


BEST = {
    "name": "LogisticRegression/all",
    "algorithm": "LogisticRegression",
    "feature_set": "all",
    "test_metrics": {"auc_pr": 0.75, "auc_roc": float("nan")},
}


def test_roc_pr_and_gains_figures_draw_the_curve(ten_scored_users):
    curve = ranking_curve(ten_scored_users, score_grid=100)

    figure = plot_roc_pr_curves(curve, BEST)
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert titles == ["ROC (AUC n/a)", "Precision-recall (AUC-PR 0.750)"]
    assert list(figure.data[0].x) == curve["false_positive_rate"].tolist()
    # The PR curve starts at the first selected row: precision is undefined before.
    assert len(figure.data[2].x) == 10
    assert len(plot_roc_pr_curves_png(curve, BEST).axes) == 2

    gains = plot_cumulative_gains(curve)
    assert [trace.name for trace in gains.data] == [
        "best model",
        "perfect ranking",
        "random ranking",
    ]
    # Perfect ranking: the 4 churners among the first 40 % of rows.
    assert list(gains.data[1].y)[4:6] == pytest.approx([1.0, 1.0])
    assert list(gains.data[1].y)[2] == pytest.approx(0.5)
    assert isinstance(plot_cumulative_gains_png(curve), Figure)


def test_feature_weights_show_the_best_models_largest_magnitudes():
    weights = pd.DataFrame(
        {
            "feature_set": ["all"] * 4 + ["engagement"],
            "algorithm": ["LogisticRegression"] * 4 + ["LogisticRegression"],
            "feature": ["a", "b", "c", "d", "a"],
            "kind": ["coefficient"] * 5,
            "value": [0.1, -2.0, 1.0, 0.0, 9.0],
        }
    )

    figure = plot_feature_weights(weights, BEST, top_n=3)

    assert list(figure.data[0].y) == ["a", "c", "b"]
    assert list(figure.data[0].x) == [0.1, 1.0, -2.0]
    with pytest.raises(ValueError, match="no weight of the best model"):
        plot_feature_weights(weights, {**BEST, "feature_set": "other"}, top_n=3)


def test_churn_score_histogram_counts_users_per_bin_and_tier(spark):
    scores = spark.createDataFrame(
        [
            (0.0, "low"),
            (0.05, "low"),
            (0.1, "low"),
            (0.99, "high"),
            (1.0, "high"),
            (0.97, "medium"),
        ],
        "churn_probability double, risk_tier string",
    )

    table = churn_score_histogram(scores, bins=10)

    assert table[["bin", "risk_tier", "users"]].values.tolist() == [
        [0, "low", 2],
        [1, "low", 1],
        [9, "high", 2],
        [9, "medium", 1],
    ]
    assert table.iloc[-1][["bin_start", "bin_end"]].tolist() == pytest.approx(
        [0.9, 1.0]
    )
    figure = plot_churn_score_distribution(table)
    assert [trace.name for trace in figure.data] == ["high", "low", "medium"]


def test_simulation_calibration_plots_ratios_and_ranges():
    calibration = {
        "passed": False,
        "checks": [
            {
                "figure": "total rows",
                "simulated": 110.0,
                "published": 100.0,
                "low": 90.0,
                "high": 105.0,
                "passed": False,
            }
        ],
        "for_comparison": [
            {"figure": "songs per user", "simulated": 50.0, "published": 25.0},
            {"figure": "never seen", "simulated": None, "published": 3.0},
        ],
    }

    figure = plot_simulation_calibration(calibration)

    ranges, ratios = figure.data
    assert list(ranges.base) == [0.9]
    assert list(ranges.x) == pytest.approx([0.15])
    assert list(ratios.y) == ["total rows", "songs per user"]
    assert list(ratios.x) == pytest.approx([1.1, 2.0])
    assert list(ratios.marker.color) == ["red", "grey"]
    assert "FAILED" in figure.layout.title.text


def test_best_model_is_refitted_on_training_rows_and_scores_the_test_rows(spark):
    first = datetime(2018, 10, 1)
    rows = [
        (f"u{user}", first + timedelta(days=7 * week), int(user % 3 == 0), float(user))
        for user in range(30)
        for week in range(3)
    ]
    table = spark.createDataFrame(
        rows, "user_id string, cutoff timestamp, label int, signal double"
    )
    info = {
        "algorithm": "LogisticRegression",
        "feature_columns": {"numeric": ["signal"], "categorical": []},
        "estimator_params": {"maxIter": 10},
    }

    predictions = score_best_model_on_test_rows(table, info, horizon_days=14)

    assert predictions.columns == ["label", "score"]
    scores = predictions.toPandas()
    assert len(scores) == 30  # the last cutoff only
    assert scores["score"].between(0, 1).all()
