"""``kedro run --pipelines reporting`` end to end on hand-made inputs in a temporary root."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sparkify_kedro.pipelines.reporting import create_pipeline
from tests.kedro_helpers import (
    PROJECT_ROOT,
    kedro_session,
    load_dataset,
    run_pipeline,
)

CUTOFFS = [datetime(2018, 10, 1) + timedelta(days=7 * week) for week in range(4)]
DEPLOYED = "LogisticRegression(regParam=0.01)/all"
BEST_MODEL_INFO = {
    "name": DEPLOYED,
    "kind": "classifier",
    "algorithm": "LogisticRegression",
    "feature_set": "all",
    "feature_columns": {
        "numeric": ["thumbs_down_per_song", "songs"],
        "categorical": ["level_at_cutoff"],
    },
    "estimator_params": {"maxIter": 10, "regParam": 0.01},
    "threshold": 0.5,
    "chosen_by": {"reason": f"{DEPLOYED} has the best AUC-PR."},
    "test_metrics": {"auc_pr": 0.8, "auc_roc": 0.9},
}
#: The procedure's test ranking curve (written by modeling): 30 rows, 9 churners.
BEST_MODEL_TEST_CURVE = pd.DataFrame(
    {
        "threshold": [math.inf, 0.9, 0.4],
        "selected": [0, 10, 30],
        "churners_selected": [0, 6, 9],
        "share_selected": [0.0, 1 / 3, 1.0],
        "true_positive_rate": [0.0, 2 / 3, 1.0],
        "false_positive_rate": [0.0, 4 / 21, 1.0],
        "precision": [math.nan, 0.6, 0.3],
        "lift": [math.nan, 2.0, 1.0],
    }
)


#: The calibration record modeling writes (contract of issue #34).
PROBABILITY_CALIBRATION = {
    "method": "platt",
    "slope": 1.1,
    "intercept": -0.4,
    "input": "logit",
    "fitted_on": {"rows": 90},
    "test": {
        "expected_calibration_error": 0.034,
        "reliability": [
            {"bin": 0, "n": 20, "mean_predicted": 0.1, "observed_rate": 0.1},
            {"bin": 1, "n": 10, "mean_predicted": 0.6, "observed_rate": 0.5},
        ],
    },
}


def churn_scores_rows() -> pd.DataFrame:
    """30 scored users with the columns scoring writes: u29 most at risk, even users paid
    (value 9.0), odd ones free (value 1.0), the 3 most at risk "high", with one reason."""
    rows = []
    for user in range(30):
        probability, value = user / 30, 9.0 if user % 2 == 0 else 1.0
        rows.append(
            {
                "user_id": f"u{user}",
                "churn_probability": probability,
                "rank": 30 - user,
                "risk_tier": "high" if user > 26 else "low",
                "level": "paid" if user % 2 == 0 else "free",
                "monthly_value": value,
                "expected_monthly_loss": probability * value,
                "reason_1": f"songs per day: {user}.00, typical 15.00",
                "reason_2": "",
                "reason_3": "",
                "model": DEPLOYED,
                "scored_at": CUTOFFS[-1],
            }
        )
    return pd.DataFrame(rows)


def model_input_rows(
    feature_groups: dict[str, list[str]], categorical: list[str], n_users: int
) -> pd.DataFrame:
    """One row per (user, cutoff) with every configured feature; churn follows thumbs down."""
    rng = random.Random(3)
    rows = []
    for user in range(n_users):
        for cutoff in CUTOFFS:
            row = {"user_id": f"u{user}", "cutoff": cutoff}
            for feature in (f for group in feature_groups.values() for f in group):
                row[feature] = (
                    rng.choice(["free", "paid"])
                    if feature in categorical
                    else rng.random()
                )
            label = int(row["thumbs_down_per_song"] + rng.gauss(0, 0.2) > 0.7)
            row.update(label=label, churn_type="Submit Downgrade" if label else None)
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def reported(spark, tmp_path_factory) -> Path:
    """The reporting inputs saved through the catalog, then the reporting pipelines run."""
    data_root = tmp_path_factory.mktemp("reporting")
    with kedro_session(data_root) as session:
        context = session.load_context()
        features = context.params["feature_engineering"]
        table = model_input_rows(
            features["feature_groups"], features["categorical_features"], n_users=30
        )
        catalog = context.catalog
        catalog.save("model_input_table", spark.createDataFrame(table))
        catalog.save("best_model_info", BEST_MODEL_INFO)
        catalog.save("best_model_test_curve", BEST_MODEL_TEST_CURVE)
        catalog.save(
            "model_metrics",
            pd.DataFrame(
                {
                    "model": ["procedure", "baseline/one_rule", DEPLOYED],
                    "feature_set": ["procedure", "baseline", "all"],
                    "algorithm": [
                        "rolling_origin_choice",
                        "one_rule",
                        "LogisticRegression",
                    ],
                    "figure": ["test", "test", "validation"],
                    "chosen": [False, False, True],
                    "validation_rank": [None, None, 1],
                    "origins_scored": [1, 1, 2],
                    "auc_pr": [0.8, 0.4, 0.7],
                    "auc_pr_low": [0.7, 0.3, 0.6],
                    "auc_pr_high": [0.9, 0.5, 0.8],
                }
            ),
        )
        catalog.save(
            "model_feature_weights",
            pd.DataFrame(
                {
                    "model": DEPLOYED,
                    "feature_set": "all",
                    "algorithm": "LogisticRegression",
                    "feature": [
                        "thumbs_down_per_song",
                        "songs",
                        "level_at_cutoff=paid",
                    ],
                    "kind": "coefficient",
                    "value": [2.0, -0.5, 0.1],
                }
            ),
        )
        catalog.save("churn_scores", spark.createDataFrame(churn_scores_rows()))
        catalog.save("probability_calibration", PROBABILITY_CALIBRATION)
        # what the report page reads besides the figures
        catalog.save(
            "model_comparison",
            {"confidence": 0.95, "procedure_picks": {"2018-10-22": DEPLOYED}},
        )
        catalog.save(
            "modeling_split_summary",
            {
                "origins": [{"cutoff": "2018-10-15"}, {"cutoff": "2018-10-22"}],
                "test_cutoffs": ["2018-10-22"],
            },
        )
        catalog.save("log_span", {"log_start": "2018-10-01", "log_end": "2018-10-29"})
        catalog.save("data_quality_report", {"lines_read": 120})
    run_pipeline("reporting", data_root)
    return data_root


#: Inputs saved by the fixture under 08_reporting/ (written by modeling).
INPUT_FILES = {
    "best_model_test_curve.csv",
    "model_metrics.csv",
    "model_feature_weights.csv",
    "model_comparison.json",
    "data_quality_report.json",
}
REPORT_FILES = [
    "churn_rate_by_segment.csv",
    "feature_separation.csv",
    "plotly/churn_rate_by_segment.json",
    "plotly/churn_score_distribution.json",
    "plotly/cumulative_gains.json",
    "plotly/feature_distributions.json",
    "plotly/feature_weights.json",
    "plotly/model_comparison.json",
    "plotly/roc_pr_curves.json",
    "report_page.html",
    "report_page.json",
    "risk_summary.json",
]


def test_every_report_is_written(reported):
    reports = reported / "08_reporting"
    files = sorted(
        path.relative_to(reports).as_posix()
        for path in reports.rglob("*")
        if path.is_file() and path.relative_to(reports).as_posix() not in INPUT_FILES
    )
    assert files == REPORT_FILES
    assert all((reports / name).stat().st_size > 0 for name in files)
    # Every other output of the pipelines stays in memory.
    in_memory = create_pipeline().all_outputs() - {
        Path(name).stem + suffix
        for name in REPORT_FILES
        for suffix in ("", "_plot", "_data")
    }
    assert in_memory == {
        "strongest_feature_histograms",
        "churn_score_histogram",
    }


def test_reports_read_back_through_the_catalog(reported):
    segments = load_dataset("churn_rate_by_segment", reported)
    assert set(segments["segment"]) == {"level", "gender", "platform"}
    assert segments.groupby("segment")["rows"].sum().tolist() == [120, 120, 120]

    separation = load_dataset("feature_separation", reported)
    assert separation.iloc[0]["feature"] == "thumbs_down_per_song"

    roc_pr = load_dataset("roc_pr_curves_plot", reported)
    assert list(roc_pr.data[0].x) == pytest.approx([0.0, 4 / 21, 1.0])
    assert list(roc_pr.data[2].y) == pytest.approx([0.6, 0.3])  # PR: selected rows

    figure = load_dataset("model_comparison_plot", reported)
    assert [list(trace.y) for trace in figure.data] == [
        ["procedure (test)", "baseline/one_rule (test)"],
        [DEPLOYED],
    ]


def test_the_report_page_of_a_real_log_has_no_ceiling(reported):
    """``reporting`` alone (as on a real log): the page, without the ceiling's figure."""
    page = load_dataset("report_page", reported)
    assert page.startswith("<!DOCTYPE html>")
    assert "No ceiling in this run" in page
    assert 'id="figure-ceiling_comparison"' not in page
    assert 'id="figure-model_comparison"' in page
    assert "<td>u29</td>" in page  # the user most at risk (rank 1)
    assert "No calibration recorded" not in page
    assert 'id="ece-vs-labels">0.034<' in page
    assert f"<td>{DEPLOYED}</td>" in page.split('id="origins"', 1)[1]  # its pick


def test_the_risk_summary_gives_the_revenue_at_risk_and_every_user(reported):
    summary = load_dataset("risk_summary", reported)
    scores = churn_scores_rows()
    assert summary["users"] == 30
    parameters = yaml.safe_load(
        (PROJECT_ROOT / "conf" / "base" / "parameters_scoring.yml").read_text()
    )
    assert summary["revenue"] == parameters["scoring"]["revenue"]  # the assumptions
    high = scores[scores["risk_tier"] == "high"]  # u27 (free), u28 (paid), u29 (free)
    tiers = {tier["risk_tier"]: tier for tier in summary["tiers"]}
    assert tiers["high"]["monthly_value"] == pytest.approx(11.0)
    assert tiers["high"]["expected_monthly_loss"] == pytest.approx(
        (27 + 9 * 28 + 29) / 30
    )
    assert tiers["high"]["expected_monthly_loss"] == pytest.approx(
        high["expected_monthly_loss"].sum()
    )
    assert summary["totals"]["expected_monthly_loss"] == pytest.approx(
        scores["expected_monthly_loss"].sum()
    )
    users = summary["scored_users"]
    assert [user["user_id"] for user in users] == [f"u{u}" for u in range(29, -1, -1)]
    assert users[0]["reasons"] == ["songs per day: 29.00, typical 15.00"]
