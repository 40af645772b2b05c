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
    """model_metrics as modeling writes it: the test rows first, then the validation rows
    (not in rank order: the figure sorts them); LR/engagement was halved away."""
    rows = [
        # model, feature_set, algorithm, figure, chosen, rank, origins, auc_pr, low, high
        ("procedure", "procedure", "rolling_origin_choice", "test")
        + (False, None, 3, 0.45, 0.35, 0.6),
        ("baseline/always_no_churn", "baseline", "always_no_churn", "test")
        + (False, None, 3, 0.15, 0.1, 0.2),
        ("baseline/one_rule", "baseline", "one_rule", "test")
        + (False, None, 3, 0.4, 0.3, 0.5),
        ("LogisticRegression(regParam=0.1)/all", "all", "LogisticRegression")
        + ("validation", False, 2, 4, 0.5, 0.4, 0.65),
        ("GBTClassifier(maxDepth=2)/all", "all", "GBTClassifier", "validation")
        + (False, 1, 4, 0.6, 0.5, 0.7),
        ("baseline/one_rule", "baseline", "one_rule", "validation")
        + (True, 3, 4, 0.45, 0.35, 0.55),
        ("LogisticRegression(regParam=0.1)/engagement", "engagement")
        + ("LogisticRegression", "validation", False, 4, 2, 0.7, 0.5, 0.8),
    ]
    columns = ["model", "feature_set", "algorithm", "figure", "chosen"]
    columns += ["validation_rank", "origins_scored", "auc_pr"]
    columns += ["auc_pr_low", "auc_pr_high"]
    return pd.DataFrame(rows, columns=columns)


def test_model_comparison_draws_test_figures_apart_from_validation_figures(
    model_metrics,
):
    figure = plot_model_comparison(model_metrics)

    assert [trace.name for trace in figure.data] == [
        "test: procedure and baselines",
        "validation: deployed",
        "validation: every origin",
        "validation: halved away",
    ]
    test, deployed, every_origin, halved = figure.data
    assert list(test.y) == [
        "procedure (test)",
        "baseline/always_no_churn (test)",
        "baseline/one_rule (test)",
    ]
    assert list(test.error_x.array) == pytest.approx([0.15, 0.05, 0.1])
    assert list(test.error_x.arrayminus) == pytest.approx([0.1, 0.05, 0.1])
    assert list(deployed.y) == ["baseline/one_rule"]
    # every origin: best validation rank first
    assert list(every_origin.y) == [
        "GBTClassifier(maxDepth=2)/all",
        "LogisticRegression(regParam=0.1)/all",
    ]
    assert list(every_origin.x) == [0.6, 0.5]
    assert list(halved.y) == ["LogisticRegression(regParam=0.1)/engagement"]
    assert halved.customdata[0][0] == "0.700 [0.500, 0.800]"
    # top to bottom: the test figures, then every validation figure by rank
    assert figure.layout.yaxis.autorange == "reversed"
    assert list(figure.layout.yaxis.categoryarray) == [
        *test.y,
        "GBTClassifier(maxDepth=2)/all",
        "LogisticRegression(regParam=0.1)/all",
        "baseline/one_rule",
        "LogisticRegression(regParam=0.1)/engagement",
    ]


def test_model_comparison_leaves_out_empty_groups(model_metrics):
    every_origin = model_metrics[model_metrics["origins_scored"] != 2]  # noqa: PLR2004

    figure = plot_model_comparison(every_origin)

    assert "validation: halved away" not in [trace.name for trace in figure.data]


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
    "name": "LogisticRegression(regParam=0.1)/all",
    "kind": "classifier",
    "algorithm": "LogisticRegression",
    "feature_set": "all",
    "test_metrics": {
        "auc_pr": 0.75,
        "auc_pr_low": 0.6,
        "auc_pr_high": 0.85,
        "auc_roc": float("nan"),
    },
}


def test_roc_pr_and_gains_figures_draw_the_procedures_curve(curve):
    figure = plot_roc_pr_curves(curve, BEST)
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert titles == ["ROC (AUC n/a)", "Precision-recall (AUC-PR 0.750 [0.600, 0.850])"]
    assert figure.data[0].name == "choosing procedure"
    assert list(figure.data[0].x) == curve["false_positive_rate"].tolist()
    # The PR curve starts at the first selected row: precision is undefined before.
    assert len(figure.data[2].x) == 10

    gains = plot_cumulative_gains(curve)
    assert [trace.name for trace in gains.data] == [
        "choosing procedure",
        "perfect ranking",
        "random ranking",
    ]
    # Perfect ranking: the 4 churners among the first 40 % of rows.
    assert list(gains.data[1].y)[4:6] == pytest.approx([1.0, 1.0])
    assert list(gains.data[1].y)[2] == pytest.approx(0.5)


def _weights(model: str, features: list[str], values: list[float]) -> pd.DataFrame:
    """model_feature_weights of one deployed model (coefficients)."""
    return pd.DataFrame(
        {
            "model": model,
            "feature_set": model.rsplit("/", 1)[-1],
            "algorithm": "LogisticRegression",
            "feature": features,
            "kind": "coefficient",
            "value": values,
        }
    )


def test_feature_weights_show_the_deployed_models_largest_magnitudes():
    weights = _weights(BEST["name"], ["a", "b", "c", "d"], [0.1, -2.0, 1.0, 0.0])

    figure = plot_feature_weights(weights, BEST, top_n=3)

    assert list(figure.data[0].y) == ["a", "c", "b"]
    assert list(figure.data[0].x) == [0.1, 1.0, -2.0]
    assert figure.layout.title.text == (
        f"Deployed model {BEST['name']}: top 3 feature coefficients"
    )
    with pytest.raises(ValueError, match="no weight of the deployed model"):
        plot_feature_weights(weights, {**BEST, "name": "other/all"}, top_n=3)


def test_feature_weights_of_a_deployed_rule_show_its_one_coefficient():
    rule = {"name": "baseline/one_rule", "kind": "rule"}
    weights = _weights(rule["name"], ["thumbs_down_per_song"], [3.5])

    figure = plot_feature_weights(weights, rule, top_n=15)

    assert list(figure.data[0].y) == ["thumbs_down_per_song"]
    assert list(figure.data[0].x) == [3.5]
    assert "the one-line rule baseline/one_rule" in figure.layout.title.text


def test_feature_weights_of_a_deployed_base_rate_say_it_reads_no_feature():
    base_rate = {"name": "baseline/always_no_churn", "kind": "base_rate"}
    weights = _weights(base_rate["name"], ["base_rate_constant"], [0.0])

    figure = plot_feature_weights(weights, base_rate, top_n=15)

    assert figure.data == ()
    assert figure.layout.annotations[0].text == (
        "The base rate reads no feature: every user gets the same score."
    )


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
