"""Run history: a training run is recorded in MLflow with its parameters, metrics, split,
model and reports (kedro-mlflow's hook and catalog datasets, and
``sparkify_kedro.run_history``); other runs are not."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from mlflow.tracking import MlflowClient
from mlflow.utils.validation import _validate_metric_name
from pyspark.sql import functions as F

from sparkify_kedro import settings
from sparkify_kedro.estimators import churn_probability
from sparkify_kedro.pipeline_registry import register_pipelines
from sparkify_kedro.pipelines.modeling.mlflow_records import (
    metric_name,
    model_metrics_for_mlflow,
)
from sparkify_kedro.run_history import RunHistoryHooks, flat_params
from tests.kedro_helpers import PROJECT_ROOT, kedro_session, load_dataset, run_pipeline

EXPERIMENT = "sparkify_kedro"
#: The run's tag holding the logged model's URI.
MODEL_URI_TAG = "best_model_uri"


def mlflow_config(env: str = "local") -> dict:
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env=env,
        **settings.CONFIG_LOADER_ARGS,
    )
    loader.config_patterns["mlflow"] = ["mlflow*", "mlflow*/**"]
    return loader["mlflow"]


def store(env: str) -> tuple[str, str | None]:
    """The tracking URI and the artifact location a run in ``env`` would use."""
    config = mlflow_config(env)
    kwargs = config["tracking"]["experiment"]["create_experiment_kwargs"]
    return config["server"]["mlflow_tracking_uri"], kwargs["artifact_location"]


def test_the_store_is_local_by_default_and_the_tracking_server_when_named(
    monkeypatch,
):
    for name in ("SPARKIFY_MLRUNS", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARKIFY_DATA_ROOT", "/srv/sparkify")
    assert store("local") == (
        "sqlite:////srv/sparkify/mlruns/mlflow.db",
        "/srv/sparkify/mlruns/artifacts",
    )
    # a cluster without a tracking server records on the driver (an object store cannot
    # hold a SQLite database); with one, the server also chooses where artifacts go
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://spark-master:7077")
    monkeypatch.setenv("SPARKIFY_DATA_ROOT", "s3a://bucket/sparkify")
    assert store("cluster") == ("sqlite:///mlruns/mlflow.db", "mlruns/artifacts")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow-host:5000")
    assert store("cluster") == ("http://mlflow-host:5000", None)
    assert store("local") == ("http://mlflow-host:5000", None)


def test_mlflow_telemetry_is_off_once_the_project_is_imported():
    """MLflow (3.x) starts its telemetry client when it is imported unless
    MLFLOW_DISABLE_TELEMETRY is true; Kedro imports the project's package (its settings)
    before any plugin, and the package sets it (nothing exported, no pytest marker)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"}
    }
    code = "import os, sparkify_kedro; print(os.environ['MLFLOW_DISABLE_TELEMETRY'])"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "true"


def test_exactly_the_pipelines_that_train_a_model_are_tracked():
    untracked = set(mlflow_config()["tracking"]["disable_tracking"]["pipelines"])
    for name, pipeline in register_pipelines().items():
        trains = "best_model" in pipeline.all_outputs()
        assert (name not in untracked) == trains, name


def test_model_metrics_become_one_metric_per_row_and_number_and_deployed_again():
    model_metrics = pd.DataFrame(
        {
            "model": [
                "procedure",
                "baseline/one_rule",
                "baseline/one_rule",
                "LogisticRegression(regParam=0.1)/all",
            ],
            "figure": ["test", "test", "validation", "validation"],
            "chosen": [False, False, True, False],
            "validation_rank": [math.nan, math.nan, 1.0, 2.0],
            "auc_pr": [0.3, 0.25, 0.4, 0.2],
            "auc_pr_low": [0.2, 0.15, 0.3, 0.1],
            "n_rows": [118, 118, 177, 177],
            "params": ["{}", "{}", "{}", "{}"],
        }
    )
    metrics = model_metrics_for_mlflow(model_metrics)
    assert {item["step"] for item in metrics.values()} == {0}
    assert {name: item["value"] for name, item in metrics.items()} == {
        "procedure.test.auc_pr": 0.3,
        "procedure.test.auc_pr_low": 0.2,
        "procedure.test.n_rows": 118.0,
        "baseline/one_rule.test.auc_pr": 0.25,
        "baseline/one_rule.test.auc_pr_low": 0.15,
        "baseline/one_rule.test.n_rows": 118.0,
        "baseline/one_rule.validation.validation_rank": 1.0,
        "baseline/one_rule.validation.auc_pr": 0.4,
        "baseline/one_rule.validation.auc_pr_low": 0.3,
        "baseline/one_rule.validation.n_rows": 177.0,
        "best.validation.validation_rank": 1.0,
        "best.validation.auc_pr": 0.4,
        "best.validation.auc_pr_low": 0.3,
        "best.validation.n_rows": 177.0,
        "LogisticRegression_regParam_0.1/all.validation.validation_rank": 2.0,
        "LogisticRegression_regParam_0.1/all.validation.auc_pr": 0.2,
        "LogisticRegression_regParam_0.1/all.validation.auc_pr_low": 0.1,
        "LogisticRegression_regParam_0.1/all.validation.n_rows": 177.0,
    }


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("procedure", "procedure"),
        ("baseline/always_no_churn", "baseline/always_no_churn"),
        ("GBTClassifier(maxDepth=2)/all", "GBTClassifier_maxDepth_2/all"),
        (
            "GBTClassifier(maxDepth=3, stepSize=0.1)/engagement_experience",
            "GBTClassifier_maxDepth_3_stepSize_0.1/engagement_experience",
        ),
    ],
)
def test_model_names_become_metric_names_mlflow_accepts(model, name):
    assert metric_name(model) == name
    _validate_metric_name(f"{name}.validation.auc_pr_low")


@pytest.fixture
def active_run(tmp_path):
    """An MLflow run in a store of its own, active while the test runs."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    client = MlflowClient()
    experiment = client.create_experiment("test", str(tmp_path / "artifacts"))
    with mlflow.start_run(experiment_id=experiment) as run:
        yield client, run.info.run_id


def test_the_deployed_rule_is_recorded_as_a_rule_with_the_reason(active_run):
    reason = "baseline/one_rule has the best AUC-PR (0.216) and no simpler candidate..."
    info = {
        "name": "baseline/one_rule",
        "kind": "rule",
        "algorithm": "one_rule",
        "feature_set": "baseline",
        "estimator_params": {"feature": "thumbs_down_per_song"},
        "threshold": 0.02,
        "chosen_by": {
            "metric": "auc_pr",
            "tied_with_best": ["a", "b"],
            "reason": reason,
        },
        "procedure_beats_rule": False,
        "test_metrics": {"auc_pr": 0.2},
    }
    client, run_id = active_run
    hooks = RunHistoryHooks()
    hooks.after_catalog_created(DataCatalog(), save_version="2026-01-01T00.00.00.000Z")
    hooks.after_dataset_saved("best_model_info", info)
    assert client.get_run(run_id).data.params == {
        "best_model.name": "baseline/one_rule",
        "best_model.kind": "rule",
        "best_model.algorithm": "one_rule",
        "best_model.feature_set": "baseline",
        "best_model.estimator_params.feature": "thumbs_down_per_song",
        "best_model.threshold": "0.02",
        "best_model.chosen_by.metric": "auc_pr",
        "best_model.chosen_by.tied_with_best": "a, b",
        "best_model.chosen_by.reason": reason,
        "best_model.procedure_beats_rule": "False",
    }
    # the whole record too, as a file
    (artifact,) = client.list_artifacts(run_id)
    assert artifact.path == "best_model_info.json"


def test_report_files_on_an_object_store_are_logged_too(active_run):
    """On a cluster the data root is not a local path (s3a://, hdfs://): kedro-mlflow's
    MlflowArtifactDataset logs local paths only, so the hook copies the file and logs it
    (an in-memory file system stands for the object store)."""
    catalog = DataCatalog.from_config(
        {
            "report": {
                "type": "kedro_mlflow.io.artifacts.MlflowArtifactDataset",
                "artifact_path": "08_reporting/plotly",
                "dataset": {
                    "type": "sparkify_kedro.datasets.CSVDataset",
                    "filepath": "memory://bucket/08_reporting/plotly/report.csv",
                },
            }
        }
    )
    client, run_id = active_run
    hooks = RunHistoryHooks()
    hooks.after_catalog_created(catalog, save_version="2026-01-01T00.00.00.000Z")
    table = pd.DataFrame({"a": [1, 2]})
    catalog.save("report", table)
    hooks.after_dataset_saved("report", table)
    logged = client.list_artifacts(run_id, "08_reporting/plotly")
    assert [artifact.path for artifact in logged] == ["08_reporting/plotly/report.csv"]


def test_nested_records_become_dotted_parameters():
    split = {
        "test_cutoffs": ["2018-11-12", "2018-11-19"],
        "origins": [{"n_train": 193, "train_cutoffs": ["2018-10-15"]}],
        "n_test": 118,
    }
    assert flat_params("split", split) == {
        "split.test_cutoffs": "2018-11-12, 2018-11-19",
        "split.origins.0.n_train": "193",
        "split.origins.0.train_cutoffs": "2018-10-15",
        "split.n_test": "118",
    }


def _demo_store(small_demo_data_root: Path) -> str:
    return f"sqlite:///{small_demo_data_root}/mlruns/mlflow.db"


@pytest.fixture(scope="module")
def demo_run(small_demo_data_root: Path, mlflow_store: Path):
    """The MLflow run of the session's small demo, in the store under its data root."""
    client = MlflowClient(_demo_store(small_demo_data_root))
    experiment = client.get_experiment_by_name(EXPERIMENT)
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["data_root"] == str(small_demo_data_root)
    return client, run


def test_a_report_saved_outside_a_run_starts_no_mlflow_run(tmp_path):
    """A notebook's ``catalog.save`` of a report the catalog logs to MLflow writes the file
    and leaves no MLflow run open; the metrics dataset is simply absent outside a run."""
    with kedro_session(tmp_path) as session:
        catalog = session.load_context().catalog
        catalog.save("data_quality_report", {"lines_read": 3})
        assert not catalog.exists("mlflow_model_metrics")
    assert mlflow.active_run() is None
    assert (tmp_path / "08_reporting" / "data_quality_report.json").exists()


def test_a_pipeline_that_trains_no_model_records_no_run(mlflow_store, tmp_path):
    """A Kedro run of an untracked pipeline (a 5-user simulation), after the other tests'
    runs in this process, records nothing in the process's store (if it has one yet)."""
    run_pipeline("simulation", tmp_path, {"simulation": {"n_users": 5}})
    database = mlflow_store / "mlflow.db"
    runs = []
    if database.exists():
        client = MlflowClient(f"sqlite:///{database}")
        experiment = client.get_experiment_by_name(EXPERIMENT)
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
    assert "simulation" not in {run.data.tags["mlflow.runName"] for run in runs}


def test_a_training_run_records_its_parameters_split_and_metrics_with_intervals(
    demo_run, small_demo_data_root
):
    client, run = demo_run
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.runName"] == "demo"
    params, metrics = run.data.params, run.data.metrics
    # the run's parameters (with the test's overrides), flattened by kedro-mlflow
    assert params["simulation.n_users"] == "80"
    assert params["modeling.evaluation.bootstrap_resamples"] == "100"
    # the split and the deployed model: what it is and why it was chosen
    split = load_dataset("modeling_split_summary", small_demo_data_root)
    assert params["split.n_test"] == str(split["n_test"])
    assert params["split.test_churners"] == str(split["test_churners"])
    assert params["split.test_cutoffs"] == ", ".join(split["test_cutoffs"])
    assert params["split.origin_cutoffs"] == ", ".join(split["origin_cutoffs"])
    assert params["split.origins.0.n_train"] == str(split["origins"][0]["n_train"])
    info = load_dataset("best_model_info", small_demo_data_root)
    assert params["best_model.name"] == info["name"]
    assert params["best_model.kind"] == info["kind"]
    assert params["best_model.chosen_by.reason"] == info["chosen_by"]["reason"]
    # every row's metrics with their intervals: the procedure's and the baselines' test
    # figures, every candidate's validation figures, the deployed candidate's again
    table = load_dataset("model_metrics", small_demo_data_root)
    for row in table.to_dict("records"):
        prefix = f"{metric_name(row['model'])}.{row['figure']}"
        for metric in ("auc_pr", "auc_pr_low", "auc_pr_high", "lift_top_decile"):
            assert metrics[f"{prefix}.{metric}"] == pytest.approx(row[metric])
    assert metrics["procedure.test.auc_pr"] == pytest.approx(
        info["test_metrics"]["auc_pr"]
    )
    assert metrics["best.validation.auc_pr"] == pytest.approx(
        info["chosen_by"]["value"]
    )
    assert metrics["best.validation.auc_pr_low"] <= metrics["best.validation.auc_pr"]
    assert metrics["best.validation.auc_pr"] <= metrics["best.validation.auc_pr_high"]
    # the model's version, the records of the model and the split, and every report file
    versions = os.listdir(small_demo_data_root / "06_models" / "best_model")
    assert [params["best_model.version"]] == versions
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"08_reporting", "best_model_info.json", "modeling_split_summary.json"} <= (
        artifacts
    )
    reporting = small_demo_data_root / "08_reporting"
    written = {
        f"08_reporting/{path.relative_to(reporting)}"
        for path in reporting.rglob("*")
        if path.is_file()
    }
    assert "08_reporting/model_metrics.csv" in written
    assert logged_files(client, run.info.run_id, "08_reporting") == written


def logged_files(client: MlflowClient, run_id: str, folder: str) -> set[str]:
    """The paths of the files logged in ``folder`` of a run's artifacts, at any depth."""
    files = set()
    for artifact in client.list_artifacts(run_id, folder):
        if artifact.is_dir:
            files |= logged_files(client, run_id, artifact.path)
        else:
            files.add(artifact.path)
    return files


def test_the_logged_model_scores_as_best_model(demo_run, small_demo_data_root):
    _, run = demo_run
    # every Kedro run of this process points MLflow at its own store: the demo's, here
    mlflow.set_tracking_uri(_demo_store(small_demo_data_root))
    logged = mlflow.spark.load_model(run.data.tags[MODEL_URI_TAG])
    best_model = load_dataset("best_model", small_demo_data_root)
    features = load_dataset("scoring_features", small_demo_data_root)

    def scores(model) -> pd.DataFrame:
        scored = model.transform(features).select(
            "user_id", "cutoff", churn_probability().alias("score"), F.col("prediction")
        )
        return scored.toPandas().sort_values(["user_id", "cutoff"], ignore_index=True)

    expected = scores(best_model)
    assert not expected.empty
    pd.testing.assert_frame_equal(scores(logged), expected)
