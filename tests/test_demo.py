"""``kedro run --pipelines demo``: the simulator feeding every stage, end to end."""

from __future__ import annotations

from kedro.framework.project import pipelines
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from kedro_mlflow.io.models import MlflowModelTrackingDataset

from tests.conftest import SMALL_DEMO_PARAMS
from tests.kedro_helpers import kedro_session, lives_in_memory

MLFLOW_RUN_DATASETS = (MlflowMetricsHistoryDataset, MlflowModelTrackingDataset)


def test_the_demo_writes_every_dataset_it_declares(small_demo_data_root):
    with kedro_session(small_demo_data_root, SMALL_DEMO_PARAMS) as session:
        catalog = session.load_context().catalog
        persisted = [
            name
            for name in pipelines["demo"].datasets()
            if not name.startswith("params:")
            and name != "parameters"
            and not lives_in_memory(catalog.get(name))
            # written to the MLflow run, not the data root (tests/test_run_history.py)
            and not isinstance(catalog.get(name), MLFLOW_RUN_DATASETS)
        ]
        assert {
            "simulated_events",
            "clean_events",
            "churn_scores",
            "model_metrics",
        } <= set(persisted)
        missing = [name for name in persisted if not catalog.exists(name)]
    assert missing == []


def test_the_demo_scores_users_with_a_model_from_the_comparison(small_demo_data_root):
    with kedro_session(small_demo_data_root, SMALL_DEMO_PARAMS) as session:
        catalog = session.load_context().catalog
        quality = catalog.load("data_quality_report")
        metrics = catalog.load("model_metrics")
        best = catalog.load("best_model_info")
        scores = catalog.load("churn_scores").toPandas()

    # the simulated log reads cleanly: every user, no unknown page, nothing quarantined,
    # only the anonymous rows dropped (the simulator writes no duplicate)
    assert quality["books_balance"] is True
    assert quality["lines_quarantined"] == 0
    assert quality["distinct_users"] == SMALL_DEMO_PARAMS["simulation"]["n_users"]
    assert quality["unknown_page_rows"] == 0
    dropped = {k for k, v in quality["rows_dropped_by_reason"].items() if v}
    assert dropped == {"logged_out", "guest"}
    # the procedure and two baselines on the test rows, then the candidates: feature sets
    # x algorithms (one grid point each here) + two baselines, on validation rows
    assert len(metrics) == 3 + 3 * 4 + 2
    assert best["name"] in set(metrics.loc[metrics["figure"] == "validation", "model"])
    assert len(scores) > 0
    assert scores["rank"].tolist() == list(range(1, len(scores) + 1))
    assert scores["churn_probability"].between(0, 1).all()
    assert (scores["model"] == best["name"]).all()
    assert scores["churn_probability"].is_monotonic_decreasing
