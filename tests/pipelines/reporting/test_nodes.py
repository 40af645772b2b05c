"""Reporting nodes on small hand-made tables, with the expected numbers worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sparkify_kedro.pipelines.reporting.figures import (
    plot_churn_rate_by_segment,
    plot_churn_score_distribution,
    plot_cumulative_gains,
    plot_feature_distributions,
    plot_feature_weights,
    plot_model_comparison,
    plot_roc_pr_curves,
)
from sparkify_kedro.pipelines.reporting.tables import (
    churn_rate_by_segment,
    churn_score_histogram,
    feature_histograms,
    feature_separation,
    numeric_features,
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


def test_churn_rate_figure_has_a_trace_per_segment(segment_rows):
    table = churn_rate_by_segment(segment_rows, SEGMENTS)

    figure = plot_churn_rate_by_segment(table)
    assert [trace.name for trace in figure.data] == list(SEGMENTS)
    assert list(figure.data[0].y) == pytest.approx([1 / 3, 0.5])


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
            "chosen": [False, False, True, False, False, False],
            "auc_pr": [0.6, 0.5, 0.4, 0.45, 0.3, 0.2],
            "auc_pr_low": [0.5, 0.4, 0.3, 0.35, 0.2, 0.1],
            "auc_pr_high": [0.7, 0.65, 0.5, 0.55, 0.4, 0.3],
        }
    )


def test_model_comparison_shows_intervals_the_choice_and_baseline_lines(
    model_metrics,
):
    figure = plot_model_comparison(model_metrics)

    assert [trace.name for trace in figure.data] == ["all", "engagement"]
    engagement = figure.data[1]
    assert list(engagement.y) == [0.4, 0.45]
    assert list(engagement.error_y.array) == pytest.approx([0.1, 0.1])
    assert list(engagement.error_y.arrayminus) == pytest.approx([0.1, 0.1])
    assert list(engagement.text) == ["*", ""]  # the chosen model
    assert sorted(shape.y0 for shape in figure.layout.shapes) == [0.2, 0.3]
    assert "[0.200, 0.400]" in " ".join(a.text for a in figure.layout.annotations)


@pytest.fixture
def curve():
    """A ranking curve worked out by hand: ten test rows, 4 churners, 6 others.

    Best score first: churn, churn, stay, churn, stay, stay, churn, stay, stay, stay.
    """
    selected = pd.Series(range(11))
    hits = pd.Series([0, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4])
    precision = (hits / selected.where(selected > 0)).astype(float)
    return pd.DataFrame(
        {
            "threshold": [math.inf] + [0.95 - 0.1 * step for step in range(10)],
            "selected": selected,
            "churners_selected": hits,
            "share_selected": selected / 10,
            "true_positive_rate": hits / 4,
            "false_positive_rate": (selected - hits) / 6,
            "precision": precision,
            "lift": precision / 0.4,
        }
    )


BEST = {
    "name": "LogisticRegression/all",
    "algorithm": "LogisticRegression",
    "feature_set": "all",
    "test_metrics": {
        "auc_pr": 0.75,
        "auc_pr_low": 0.6,
        "auc_pr_high": 0.85,
        "auc_roc": float("nan"),
    },
}


def test_roc_pr_and_gains_figures_draw_the_curve(curve):
    figure = plot_roc_pr_curves(curve, BEST)
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert titles == ["ROC (AUC n/a)", "Precision-recall (AUC-PR 0.750 [0.600, 0.850])"]
    assert list(figure.data[0].x) == curve["false_positive_rate"].tolist()
    # The PR curve starts at the first selected row: precision is undefined before.
    assert len(figure.data[2].x) == 10

    gains = plot_cumulative_gains(curve)
    assert [trace.name for trace in gains.data] == [
        "best model",
        "perfect ranking",
        "random ranking",
    ]
    # Perfect ranking: the 4 churners among the first 40 % of rows.
    assert list(gains.data[1].y)[4:6] == pytest.approx([1.0, 1.0])
    assert list(gains.data[1].y)[2] == pytest.approx(0.5)


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
