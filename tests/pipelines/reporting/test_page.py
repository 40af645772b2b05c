"""The report page's data and HTML on small hand-made inputs (no Spark but the risk summary)."""

from __future__ import annotations

import math
import re
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import pytest
from pyspark.sql import functions as F

from sparkify_kedro.pipelines.reporting.page import (
    assemble_report_page_data,
    render_report_page,
)
from sparkify_kedro.pipelines.reporting.tables import summarise_risk

HOSTILE_USER = '<script>alert("user")</script>'
HOSTILE_PAGE = "<img src=x onerror=alert(1)>"
BEST_MODEL_INFO = {
    "name": "LogisticRegression/all",
    "algorithm": "LogisticRegression",
    "feature_set": "all",
    "feature_columns": {"numeric": ["songs", "thumbs_down"], "categorical": ["level"]},
    "threshold": 0.31,
    "chosen_by": {"metric": "cv_auc_pr", "value": 0.52, "on": "cross-validation"},
    "runner_up": {"name": "GBTClassifier/all", "cv_auc_pr": 0.48},
    "churn_task": {
        "mode": "snapshot",
        "churn_definition": "paid_to_free_or_cancel",
        "churn_definitions": {
            "paid_to_free_or_cancel": ["Submit Downgrade", "Cancellation Confirmation"]
        },
        "observation_days": 14,
        "horizon_days": 14,
        "stride_days": 7,
    },
}
MODEL_METRICS = pd.DataFrame(
    {
        "feature_set": ["all", "all", "engagement", "baseline"],
        "algorithm": [
            "LogisticRegression",
            "GBTClassifier",
            "GBTClassifier",
            "one_rule",
        ],
        "chosen": [True, False, False, False],
        "cv_auc_pr": [0.52, 0.48, 0.40, math.nan],
        **{
            f"{metric}{suffix}": [value + shift] * 4
            for metric, value in [
                ("auc_pr", 0.5),
                ("auc_roc", 0.8),
                ("precision", 0.4),
                ("recall", 0.6),
                ("f1", 0.48),
                ("lift_top_decile", 2.5),
            ]
            for suffix, shift in [("", 0.0), ("_low", -0.1), ("_high", 0.1)]
        },
    }
)
MODEL_COMPARISON = {
    "confidence": 0.95,
    "bootstrap_resamples": 100,
    "paired_differences": [
        {
            "comparison": "LogisticRegression/all - baseline/one_rule",
            "against": "baseline",
            "mean_difference": 0.2,
            "low": 0.05,
            "high": 0.35,
        }
    ],
    "best_beats_baselines": True,
    "best_beats_runner_up": False,
}
SPLIT = {"tuning_cutoffs": ["2018-10-15T00:00:00"], "n_tuning": 50, "test_cutoffs": []}
LOG_SPAN = {"log_start": "2018-10-01T00:00:00", "log_end": "2018-12-03T00:00:00"}
DATA_QUALITY = {
    "lines_read": 1000,
    "rows_kept": 990,
    "unknown_pages": {HOSTILE_PAGE: 3},
}
RISK = {
    "users": 3,
    "scored_at": "2018-12-03T00:00:00",
    "tiers": [
        {
            "risk_tier": "high",
            "users": 1,
            "first_rank": 1,
            "last_rank": 1,
            "min_probability": 0.9,
            "max_probability": 0.9,
        },
        {
            "risk_tier": "low",
            "users": 2,
            "first_rank": 2,
            "last_rank": 3,
            "min_probability": 0.1,
            "max_probability": 0.2,
        },
    ],
    "top_users": [
        {
            "rank": 1,
            "user_id": HOSTILE_USER,
            "churn_probability": 0.9,
            "risk_tier": "high",
        }
    ],
}
CEILING_SUMMARY = {
    "ceiling_expected_auc_pr": 0.8,
    "chosen_model": "LogisticRegression/all",
    "chosen_expected_auc_pr": 0.6,
    "chosen_ratio_to_ceiling": 0.75,
    "label_draws": 50,
    "test_rows": 100,
}


def _page(ceiling_summary=None) -> dict:
    return assemble_report_page_data(
        BEST_MODEL_INFO,
        MODEL_METRICS,
        MODEL_COMPARISON,
        SPLIT,
        LOG_SPAN,
        DATA_QUALITY,
        RISK,
        ceiling_summary,
    )


def test_the_page_data_lists_the_chosen_model_runner_up_and_baselines():
    page = _page()
    assert [(row["model"], row["role"]) for row in page["metrics"]] == [
        ("LogisticRegression/all", "chosen"),
        ("GBTClassifier/all", "runner-up"),
        ("baseline/one_rule", "baseline"),
    ]
    baseline = page["metrics"][2]
    assert baseline["cv_auc_pr"] is None  # NaN: no validation figure for a fixed rule
    assert baseline["auc_pr_low"] == pytest.approx(0.4)
    assert page["model"]["chosen_by_value"] == 0.52
    assert page["model"]["runner_up_value"] == 0.48
    assert page["task"]["churn_pages"] == [
        "Submit Downgrade",
        "Cancellation Confirmation",
    ]
    assert page["features"] == {
        "numeric": ["songs", "thumbs_down"],
        "categorical": ["level"],
    }


def test_without_a_ceiling_the_page_says_none_was_measured():
    page = _page()
    assert page["ceiling"] is None
    html = render_report_page(page)
    assert "No ceiling in this run" in html
    assert "of the ceiling" not in html


def test_with_a_ceiling_the_page_gives_the_chosen_models_ratio():
    page = _page(CEILING_SUMMARY)
    assert page["ceiling"]["chosen_ratio"] == 0.75
    html = render_report_page(page)
    assert "No ceiling" not in html
    assert "<strong>75 %</strong> of the ceiling" in html


def test_user_ids_and_page_names_are_escaped():
    html = render_report_page(_page())
    for hostile in (HOSTILE_USER, HOSTILE_PAGE):
        assert hostile not in html
    assert "&lt;script&gt;alert(&#34;user&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; (3)" in html


def test_plotly_js_is_inlined_once_and_nothing_is_fetched():
    figure = go.Figure(go.Bar(x=["<b>a</b>"], y=[1]))
    html = render_report_page(
        _page(), model_comparison=figure, roc_pr_curves=figure, unknown=figure
    )
    assert html.count("window.PlotlyConfig") == 1  # plotly.js, before the first figure
    assert html.index("window.PlotlyConfig") < html.index(
        'id="figure-model_comparison"'
    )
    assert 'id="figure-roc_pr_curves"' in html
    assert "figure-unknown" not in html  # only the page's figures are drawn
    # no script, style sheet or frame loaded from elsewhere (the browser test blocks the
    # network and finds no error either)
    assert not re.search(r"<(script|link|iframe)\b[^>]*\b(src|href)=", html)


def test_the_risk_summary_counts_tiers_and_keeps_the_top_users(spark):
    scores = spark.createDataFrame(
        [
            (f"u{rank}", 1 - rank / 10, rank, "high" if rank <= 2 else "low")
            for rank in range(1, 7)
        ],
        "user_id string, churn_probability double, rank int, risk_tier string",
    ).withColumn("scored_at", F.lit(datetime(2018, 12, 3)))
    summary = summarise_risk(scores, top_users=3)
    assert summary["users"] == 6
    assert summary["scored_at"] == "2018-12-03T00:00:00"
    assert [(t["risk_tier"], t["users"], t["last_rank"]) for t in summary["tiers"]] == [
        ("high", 2, 2),
        ("low", 4, 6),
    ]
    assert summary["tiers"][1]["min_probability"] == pytest.approx(0.4)
    assert [user["user_id"] for user in summary["top_users"]] == ["u1", "u2", "u3"]
