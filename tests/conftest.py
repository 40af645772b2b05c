"""Shared fixtures: one local SparkSession for the whole test session."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from tests.kedro_helpers import FIXTURES, run_pipeline

#: A demo run small enough for the test suite: 80 simulated users, every stage, modeling
#: with one grid point, two folds, few iterations and two test origins, few bootstrap
#: resamples and futures (the flow is under test here; model quality has its own tests and
#: benchmark). The cluster tests run the same parameters and compare with this run.
SMALL_DEMO_PARAMS = {
    "simulation": {
        "n_users": 80,
        "seed": 3,
        "ceiling": {"futures": 10, "label_draws": 50},
    },
    "modeling": {
        "cross_validation": {"num_folds": 2, "parallelism": 2},
        "evaluation": {"test_cutoffs": 2, "bootstrap_resamples": 100},
        "algorithms": {
            "gbt": {"params": {"maxIter": 3}, "grid": {"maxDepth": [2]}},
            "random_forest": {"params": {"numTrees": 5}, "grid": {"maxDepth": [3]}},
            "logistic_regression": {
                "params": {"maxIter": 5},
                "grid": {"regParam": [0.1]},
            },
            "linear_svc": {"params": {"maxIter": 5}, "grid": {"regParam": [0.1]}},
        },
    },
}

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# PySpark turns timestamps into naive datetimes in the process's time zone: make it UTC, like
# the Spark session, so expected values in tests read as UTC.
os.environ["TZ"] = "UTC"
time.tzset()
# Spark's Python workers run this interpreter, with the project's packages.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """A local SparkSession on 127.0.0.1 with the UI off and few shuffle partitions.

    Kedro runs inside the tests reuse it: the project's hook calls ``getOrCreate``.
    """
    session = (
        SparkSession.builder.master("local[2]")
        .appName("sparkify-kedro-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory) -> Iterator[Path]:
    """One MLflow store for every Kedro run of the test session (conf/base/globals.yml).

    A store of its own under each run's data root would create an MLflow database (a few
    seconds) per data root; the tests find their run by its ``data_root`` parameter.
    Subprocesses (the cluster tests) inherit it.
    """
    store = tmp_path_factory.mktemp("mlruns")
    previous = os.environ.get("SPARKIFY_MLRUNS")
    os.environ["SPARKIFY_MLRUNS"] = str(store)
    yield store
    if previous is None:
        os.environ.pop("SPARKIFY_MLRUNS", None)
    else:
        os.environ["SPARKIFY_MLRUNS"] = previous


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def small_demo_data_root(spark, tmp_path_factory) -> Path:
    """``kedro run --pipelines demo`` on 80 simulated users, once per test session."""
    data_root = tmp_path_factory.mktemp("small_demo")
    run_pipeline("demo", data_root, SMALL_DEMO_PARAMS)
    return data_root
