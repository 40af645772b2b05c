"""Run history: what the catalog's kedro-mlflow datasets cannot record in the MLflow run.

kedro-mlflow's hook (conf/base/mlflow.yml) opens an MLflow run per run of a tracked pipeline
and logs the parameters the nodes read; kedro-mlflow's datasets in the catalog log the
metrics (``mlflow_model_metrics``), the deployed model in MLflow's Spark flavour
(``mlflow_best_model``), the split's record and the report files (``MlflowArtifactDataset``).
``RunHistoryHooks`` adds what they cannot:

- parameters: the split (``split.*``), the deployed model (``best_model.*``: what it is, how
  and why it was chosen, its Kedro ``version``) and ``data_root``;
- ``best_model_info.json`` (``MlflowArtifactDataset`` cannot wrap a versioned dataset) and
  the tag ``best_model_uri``, the logged model's URI;
- on a cluster whose ``data_root`` is not a local path (an object store, HDFS), the report
  files, copied first: ``MlflowArtifactDataset`` logs a local path only;
- isolation: each Kedro run of a process (the tests, a notebook) finds its own store and no
  run left open by the one before; a dataset saved outside a tracked run (a notebook's
  ``catalog.save``) starts no MLflow run, and ``mlflow_model_metrics`` exists only in its
  run (a resumed run logs the metrics into its own).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from importlib import import_module
from pathlib import Path, PurePosixPath
from typing import Any

import mlflow
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.io.core import get_filepath_str
from kedro_mlflow.io.catalog.switch_catalog_logging import switch_catalog_logging
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

#: The tracking server the user named, if any, read before MLflow runs in this process:
#: ``mlflow.set_tracking_uri`` (kedro-mlflow calls it for every run) also exports
#: MLFLOW_TRACKING_URI, which conf/base/mlflow.yml would then take for the user's choice.
_USER_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI")
#: What of best_model_info says what the deployed model is and why it was chosen.
_BEST_MODEL_KEYS = """name kind algorithm feature_set estimator_params threshold chosen_by
procedure_beats_baselines procedure_beats_rule""".split()


def flat_params(prefix: str, value: Any) -> dict[str, str]:
    """``value`` as MLflow parameters: a dict's entries under ``<prefix>.<key>``, a list of
    dicts' under ``<prefix>.<index>`` (``split.origins.0.n_train``), any other list as one
    comma-separated value."""
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        value = dict(enumerate(value))
    if isinstance(value, dict):
        return {
            name: text
            for key, item in value.items()
            for name, text in flat_params(f"{prefix}.{key}", item).items()
        }
    if isinstance(value, list):
        return {prefix: ", ".join(str(item) for item in value)}
    return {prefix: str(value)}


class MlflowMetricsBatchDataset(MlflowMetricsHistoryDataset):
    """kedro-mlflow's metrics dataset, logging all in one ``log_batch`` call rather than one
    call per metric (~500 metrics: under 1 s, not ~10 s)."""

    def _save(self, data: dict[str, Any]) -> None:
        if self._logging_activated:
            now = int(time.time() * 1000)
            metrics = [Metric(k, v["value"], now, v["step"]) for k, v in data.items()]
            MlflowClient().log_batch(self.run_id, metrics=metrics)

    def _exists(self) -> bool:
        # Outside a tracked run there is no run to look in (kedro-mlflow's would raise):
        # a resumed run logs the metrics again, into its own MLflow run.
        return bool(self._run_id or mlflow.active_run()) and super()._exists()


class RunHistoryHooks:
    """Records in the MLflow run of a tracked pipeline what its datasets cannot (module
    docstring). An untracked pipeline (no active MLflow run) is left alone."""

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: KedroContext) -> None:
        # Before kedro-mlflow reads conf/base/mlflow.yml: the store of an earlier run of this
        # process must not become this run's.
        if _USER_TRACKING_URI is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = _USER_TRACKING_URI
        self._data_root = str(context.config_loader["globals"]["data_root"])

    @hook_impl
    def after_catalog_created(self, catalog: DataCatalog, save_version: str) -> None:
        self._catalog, self._save_version = catalog, save_version
        self._remote_artifacts = {
            name: dataset
            for name, dataset in catalog.items()
            if hasattr(dataset, "artifact_path") and dataset._protocol != "file"
        }
        # Off until a tracked run starts: a save outside one (a notebook, a test) would
        # otherwise start an MLflow run of its own and leave it open.
        switch_catalog_logging(catalog, False)

    @hook_impl(trylast=True)
    def before_pipeline_run(self) -> None:
        if mlflow.active_run():
            mlflow.log_param("data_root", self._data_root)
            switch_catalog_logging(self._catalog, True)
            for dataset in self._remote_artifacts.values():
                dataset._logging_activated = False  # logged by after_dataset_saved
            return
        # kedro-mlflow (2.0) keeps the id of the process's last tracked run and reopens that
        # run before every node of an untracked pipeline, leaving it open for the next run
        # of the process: forget it. (Its module is imported here, once loaded by Kedro:
        # known_warnings.py imports it first, dropping the warnings of its import.)
        hook = import_module("kedro_mlflow.framework.hooks.mlflow_hook").mlflow_hook
        hook.run_id = None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if mlflow.active_run() is None:
            return
        if dataset_name == "modeling_split_summary":
            mlflow.log_params(flat_params("split", data))
        elif dataset_name == "best_model_info":
            chosen = {key: data[key] for key in _BEST_MODEL_KEYS if key in data}
            mlflow.log_params(flat_params("best_model", chosen))
            mlflow.log_dict(data, "best_model_info.json")
        elif dataset_name == "best_model":
            mlflow.log_param("best_model.version", self._save_version)
        elif dataset_name == "mlflow_best_model":
            model_uri = self._catalog.get(dataset_name).model_info.model_uri
            mlflow.set_tag("best_model_uri", model_uri)
        elif dataset_name in self._remote_artifacts:
            dataset = self._remote_artifacts[dataset_name]
            source = get_filepath_str(dataset._get_load_path(), dataset._protocol)
            with tempfile.TemporaryDirectory() as local:
                target = Path(local, PurePosixPath(source).name)
                dataset._fs.get(source, str(target))
                mlflow.log_artifact(str(target), dataset.artifact_path)

    # Before kedro-mlflow ends the run: where it went, and its length.
    @hook_impl(tryfirst=True)
    def after_pipeline_run(self) -> None:
        if run := mlflow.active_run():
            seconds = time.time() - run.info.start_time / 1000
            logger.info(
                "MLflow run %s recorded in %s (%.1f s)",
                run.info.run_id,
                mlflow.get_tracking_uri(),
                seconds,
            )
