"""``modeling`` then ``scoring`` through Kedro, as run by the small demo of the test session."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import yaml

from sparkify_kedro.pipelines.scoring.nodes import build_scoring_cutoffs
from tests.conftest import SMALL_DEMO_PARAMS
from tests.kedro_helpers import (
    PROJECT_ROOT,
    copy_data_root,
    kedro_session,
    load_dataset,
)

ALGORITHMS = {
    "GBTClassifier",
    "RandomForestClassifier",
    "LogisticRegression",
    "LinearSVC",
}


def _parameters(name: str) -> dict[str, Any]:
    path = PROJECT_ROOT / "conf" / "base" / f"parameters_{name}.yml"
    return yaml.safe_load(path.read_text())[name]


@pytest.fixture(scope="module")
def flow(small_demo_data_root):
    """The data root of the test session's small demo run (every stage, fast modeling)."""
    return small_demo_data_root


def test_metrics_for_the_procedure_and_every_candidate(flow):
    metrics = load_dataset("model_metrics", flow)
    assert metrics["model"].iloc[0] == "procedure"  # the honest test figure first
    candidates = metrics[metrics["figure"] == "validation"]
    classifiers = candidates[candidates["feature_set"] != "baseline"]
    feature_sets = _parameters("modeling")["feature_sets"]
    assert set(
        zip(classifiers["feature_set"], classifiers["algorithm"], strict=True)
    ) == {
        (feature_set, algorithm)
        for feature_set in feature_sets
        for algorithm in ALGORITHMS
    }
    baselines = metrics[metrics["feature_set"] == "baseline"]
    assert set(baselines["algorithm"]) == {"always_no_churn", "one_rule"}
    assert set(baselines["figure"]) == {"test", "validation"}
    summary = load_dataset("model_metrics_json", flow)
    assert len(summary["models"]) == len(metrics)
    info = load_dataset("best_model_info", flow)
    assert summary["best_model"] == info["name"]
    assert candidates.loc[candidates["chosen"], "model"].tolist() == [info["name"]]
    weights = load_dataset("model_feature_weights", flow)
    assert set(weights["model"]) == {info["name"]}


def test_churn_scores_rank_every_eligible_user_once(spark, flow):
    clean_events = spark.read.parquet(str(flow / "03_primary" / "clean_events.parquet"))
    eligible = build_scoring_cutoffs(
        clean_events,
        load_dataset("log_span", flow),
        load_dataset("best_model_info", flow),
    )
    scores = load_dataset("churn_scores", flow).toPandas()
    assert sorted(scores["user_id"]) == sorted(
        row.user_id for row in eligible.select("user_id").collect()
    )
    assert scores["churn_probability"].between(0, 1).all()
    assert sorted(scores["rank"]) == list(range(1, len(scores) + 1))
    assert set(scores["risk_tier"]) <= {"high", "medium", "low"}
    assert scores["model"].nunique() == 1
    table = load_dataset("churn_scores_csv", flow)
    assert table["rank"].tolist() == list(range(1, len(scores) + 1))


def test_scoring_uses_the_windows_frozen_with_the_model(flow, tmp_path):
    """Trained with one set of windows, scored after the parameters changed: the scores are
    those of the model's windows, as the frozen copy in ``best_model_info`` says."""
    info = load_dataset("best_model_info", flow)
    assert (
        info["churn_task"]["observation_days"]
        == _parameters("churn_task")["observation_days"]
    )
    assert info["feature_params"] == _parameters("feature_engineering")
    rescored = copy_data_root(flow, tmp_path / "rescored")
    changed = {"churn_task": {"observation_days": 9, "trend_days": 3}}
    with kedro_session(rescored, {**SMALL_DEMO_PARAMS, **changed}) as session:
        session.run(pipeline_names=["scoring"])
    before = load_dataset("churn_scores", flow).toPandas()
    after = load_dataset("churn_scores", rescored).toPandas()
    pd.testing.assert_frame_equal(
        after.sort_values("user_id").reset_index(drop=True),
        before.sort_values("user_id").reset_index(drop=True),
    )
