"""Run history: what a training run adds to the MLflow run kedro-mlflow opens for it.

kedro-mlflow's hook (configured by ``conf/base/mlflow.yml``) starts one MLflow run per run of
a tracked pipeline, logs the parameters every node reads, and ends the run. ``RunHistoryHooks``
records the rest of the run in it, from the outputs the run saved:

- metrics: every number of ``model_metrics``, per row as ``<model>.<figure>.<column>``: the
  choosing procedure's test figures (``procedure.test.auc_pr``, ``..._low``, ``..._high``),
  the baselines' on the same rows (``baseline/one_rule.test.auc_pr``), every candidate's
  validation figures (``LogisticRegression_regParam_0.1/engagement.validation.auc_pr``:
  characters MLflow refuses in a name become ``_``), and the deployed candidate's again as
  ``best.validation.<column>``;
- parameters: the split (``split.*``, from ``modeling_split_summary``), the deployed model
  (``best_model.*``, from ``best_model_info``: its name, its ``kind`` (``classifier``,
  ``rule`` or ``base_rate``), how it was chosen and why in plain words
  (``best_model.chosen_by.reason``), whether the procedure beats the baselines, and
  ``best_model.version``, the Kedro version of ``best_model``) and ``data_root``;
- artifacts: the best model in MLflow's Spark flavour (``best_model``; its URI in the tag
  ``best_model_uri``), ``best_model_info.json``, ``modeling_split_summary.json``, and the file
  of every ``08_reporting`` dataset of the pipeline, under ``08_reporting/``.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import mlflow
import pandas as pd
import pyspark
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog
from kedro.io.core import get_filepath_str
from kedro.pipeline import Pipeline
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

# kedro-mlflow defines a pyfunc model class (KedroPipelineModel; unused here: the model is
# logged in MLflow's Spark flavour) without type hints, and MLflow warns when the class is
# defined, inside its own "once" filter, which no ignore filter can overrule. A KedroSession
# reads the project's settings (this module) before it loads the plugin's hooks: the class
# is defined here first, its warning recorded and dropped. (A `kedro` command loads the
# plugin's CLI before the settings and still shows it once, at start.)
with warnings.catch_warnings(record=True):
    import kedro_mlflow.mlflow  # noqa: F401
    from kedro_mlflow.framework.hooks.mlflow_hook import (
        mlflow_hook as kedro_mlflow_hook,
    )

logger = logging.getLogger(__name__)

#: The tracking server the user named, if any, read before MLflow runs in this process:
#: ``mlflow.set_tracking_uri`` (kedro-mlflow calls it for every run) also exports
#: MLFLOW_TRACKING_URI, which conf/base/mlflow.yml would then take for the user's choice.
_USER_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI")

#: The folder of the report files; their path below it is kept in the run's artifacts.
REPORTING_FOLDER = "08_reporting"
#: Where the logged model lives in the run, and the tag holding its URI.
MODEL_ARTIFACT = "best_model"
MODEL_URI_TAG = "best_model_uri"
#: The outputs the hook keeps when a tracked run saves them.
_RECORDED = ("best_model", "best_model_info", "model_metrics", "modeling_split_summary")
#: What of best_model_info identifies the deployed model and says how it was chosen (the
#: rest is in its JSON artifact).
_BEST_MODEL_KEYS = (
    "name",
    "kind",
    "algorithm",
    "feature_set",
    "estimator_params",
    "threshold",
    "chosen_by",
    "procedure_beats_baselines",
    "procedure_beats_rule",
)
#: Runs of characters MLflow refuses in a metric name (it allows letters, digits, ``_``,
#: ``-``, ``.``, ``/``, spaces and, except on Windows, ``:``; spaces and colons too here).
_NOT_IN_A_METRIC_NAME = re.compile(r"[^\w./-]+")
# MLflow's limits per log_batch call
_METRICS_PER_CALL = 500
_PARAMS_PER_CALL = 100


def metric_name(model: str) -> str:
    """A model's name as MLflow accepts it in a metric name: every run of other characters
    (``(``, ``=``, ``,``, spaces) becomes one ``_``, none left at the end of a part
    (``LogisticRegression(regParam=0.1)/all`` -> ``LogisticRegression_regParam_0.1/all``)."""
    return "/".join(
        _NOT_IN_A_METRIC_NAME.sub("_", part).rstrip("_") for part in model.split("/")
    )


def model_metric_values(model_metrics: pd.DataFrame) -> dict[str, float]:
    """Every number of ``model_metrics`` as MLflow metrics.

    Each row's numeric columns (metrics with their ``_low``/``_high`` interval,
    ``validation_rank``, ``origins_scored``, ``n_rows``, ``churners``, ``threshold``) become
    ``<model>.<figure>.<column>`` (the model's :func:`metric_name`; ``figure`` is ``test``
    or ``validation``); the deployed candidate's row (``chosen``) is repeated as
    ``best.<figure>.<column>``. Empty cells (a test row has no ``validation_rank``) are
    left out.
    """
    columns = [
        column
        for column in model_metrics.columns
        if pd.api.types.is_numeric_dtype(model_metrics[column])
        and not pd.api.types.is_bool_dtype(model_metrics[column])
    ]
    values: dict[str, float] = {}
    for row in model_metrics.to_dict("records"):
        names = [metric_name(row["model"])]
        if bool(row.get("chosen")):
            names.append("best")
        for column in columns:
            value = row[column]
            if value is None or math.isnan(value):
                continue
            for name in names:
                values[f"{name}.{row['figure']}.{column}"] = float(value)
    return values


def flat_params(prefix: str, value: Any) -> dict[str, str]:
    """``value`` as MLflow parameters named from ``prefix``.

    A dict's entries go under ``<prefix>.<key>``, a list of dicts under ``<prefix>.<index>``
    (``split.origins.0.n_train``); any other list becomes one comma-separated value.
    """
    if isinstance(value, dict):
        items: Iterator[tuple[Any, Any]] = iter(value.items())
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        items = enumerate(value)
    elif isinstance(value, list):
        return {prefix: ", ".join(str(item) for item in value)}
    else:
        return {prefix: str(value)}
    params: dict[str, str] = {}
    for key, item in items:
        params.update(flat_params(f"{prefix}.{key}", item))
    return params


def best_model_params(best_model_info: dict[str, Any]) -> dict[str, str]:
    """The deployed model's identity as ``best_model.*`` parameters: name, kind (a
    classifier, the rule or the base rate), algorithm, feature set, estimator parameters,
    threshold, how it was chosen and why (``chosen_by``), and whether the choosing
    procedure's test figure beats the baselines and the rule."""
    return flat_params(
        "best_model",
        {
            key: best_model_info[key]
            for key in _BEST_MODEL_KEYS
            if key in best_model_info
        },
    )


def report_files(
    pipeline: Pipeline, catalog: DataCatalog
) -> dict[str, tuple[Any, str]]:
    """The file of every ``08_reporting`` dataset of ``pipeline`` that exists (its fsspec file
    system and path), by its path below ``08_reporting/`` (``plotly/roc_pr_curves.json``).
    Any file dataset in that folder counts, so a new report is recorded without a change here.
    """
    files = {}
    for name in sorted(pipeline.datasets()):
        dataset = catalog.get(name)
        if dataset is None or not hasattr(dataset, "_fs"):
            continue  # a parameter or an in-memory dataset
        path = PurePosixPath(dataset._get_load_path())
        if REPORTING_FOLDER not in path.parts[:-1] or not dataset._fs.exists(str(path)):
            continue
        below = path.parts[path.parts.index(REPORTING_FOLDER) + 1 :]
        files["/".join(below)] = (
            dataset._fs,
            get_filepath_str(path, dataset._protocol),
        )
    return files


class RunHistoryHooks:
    """Records a training run's results in the MLflow run kedro-mlflow opened for it.

    kedro-mlflow's ``before_pipeline_run`` starts the run of a tracked pipeline (this hook's
    runs after it) and its ``after_pipeline_run`` ends it (this hook's runs before it). In
    between, the outputs listed in ``_RECORDED`` are kept as they are saved; after the run
    they are logged (module docstring) with the report files. An untracked pipeline (no active
    MLflow run) is left alone.
    """

    def __init__(self) -> None:
        self._run_id: str | None = None
        self._outputs: dict[str, Any] = {}
        self._data_root: str | None = None
        self._save_version: str | None = None

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: KedroContext) -> None:
        # Before kedro-mlflow reads conf/base/mlflow.yml: the store of an earlier run of this
        # process (a notebook, the tests) must not become this run's.
        if _USER_TRACKING_URI is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = _USER_TRACKING_URI
        self._data_root = str(context.config_loader["globals"]["data_root"])

    @hook_impl
    def after_catalog_created(self, save_version: str) -> None:
        self._save_version = save_version

    @hook_impl(trylast=True)
    def before_pipeline_run(self) -> None:
        run = mlflow.active_run()
        self._run_id = run.info.run_id if run else None
        self._outputs = {}
        if run is None:
            # kedro-mlflow (2.0) keeps the id of the process's last tracked run and reopens
            # that run before every node of an untracked pipeline, leaving it open for the
            # next run of the process (the tests, a notebook): forget it.
            kedro_mlflow_hook.run_id = None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if self._run_id is not None and dataset_name in _RECORDED:
            self._outputs[dataset_name] = data

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, pipeline: Pipeline, catalog: DataCatalog) -> None:
        if self._run_id is None:
            return
        started = time.perf_counter()
        client = MlflowClient()
        try:
            self._log_values(client, self._run_id)
            self._log_files(client, self._run_id, pipeline, catalog)
            self._log_model(client, self._run_id)
        except BaseException:
            # kedro-mlflow ends the run after this hook: left open, the run would take the
            # records of the process's next Kedro run (tests, notebooks).
            mlflow.end_run(status="FAILED")
            self._run_id, self._outputs = None, {}
            raise
        logger.info(
            "MLflow run %s recorded in %s (%.1f s)",
            self._run_id,
            mlflow.get_tracking_uri(),
            time.perf_counter() - started,
        )
        self._run_id, self._outputs = None, {}

    def _log_values(self, client: MlflowClient, run_id: str) -> None:
        """The metrics and the split, chosen model and data root as parameters."""
        params = {"data_root": self._data_root or ""}
        metrics: dict[str, float] = {}
        if "model_metrics" in self._outputs:
            metrics = model_metric_values(self._outputs["model_metrics"])
        if "modeling_split_summary" in self._outputs:
            params |= flat_params("split", self._outputs["modeling_split_summary"])
        if "best_model_info" in self._outputs:
            params |= best_model_params(self._outputs["best_model_info"])
        if "best_model" in self._outputs:
            params["best_model.version"] = str(self._save_version)
        now = int(time.time() * 1000)
        metric_list = [Metric(key, value, now, 0) for key, value in metrics.items()]
        param_list = [Param(key, value) for key, value in params.items()]
        for start in range(0, len(metric_list), _METRICS_PER_CALL):
            client.log_batch(
                run_id, metrics=metric_list[start : start + _METRICS_PER_CALL]
            )
        for start in range(0, len(param_list), _PARAMS_PER_CALL):
            client.log_batch(
                run_id, params=param_list[start : start + _PARAMS_PER_CALL]
            )

    def _log_files(
        self,
        client: MlflowClient,
        run_id: str,
        pipeline: Pipeline,
        catalog: DataCatalog,
    ) -> None:
        """The JSON records of the chosen model and the split, and every report file."""
        for name in ("best_model_info", "modeling_split_summary"):
            if name in self._outputs:
                client.log_dict(run_id, self._outputs[name], f"{name}.json")
        files = report_files(pipeline, catalog)
        if not files:
            return
        with tempfile.TemporaryDirectory() as local:
            for below, (filesystem, source) in files.items():
                target = Path(local, below)
                target.parent.mkdir(parents=True, exist_ok=True)
                filesystem.get(source, str(target))
            client.log_artifacts(run_id, local, REPORTING_FOLDER)

    def _log_model(self, client: MlflowClient, run_id: str) -> None:
        """``best_model`` in MLflow's Spark flavour, its URI in the tag ``best_model_uri``."""
        if "best_model" not in self._outputs:
            return
        active = mlflow.active_run()
        if active is None or active.info.run_id != run_id:
            logger.warning("MLflow run %s is not active: best_model not logged", run_id)
            return
        info = mlflow.spark.log_model(
            self._outputs["best_model"],
            artifact_path=MODEL_ARTIFACT,
            # given, so that MLflow does not load the model in a new process to infer them
            pip_requirements=[f"pyspark=={pyspark.__version__}"],
        )
        client.set_tag(run_id, MODEL_URI_TAG, info.model_uri)
