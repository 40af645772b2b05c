"""``kedro run --env cluster`` on a real Spark standalone cluster on 127.0.0.1.

A module-scoped fixture starts ``scripts/local_spark_cluster.sh`` (a master and two workers of
one core each, free ports, a temporary ``SPARK_CLUSTER_DIR``) and stops it whatever happens.
Every Kedro run is a subprocess (``.venv/bin/kedro run``): the session-scoped local ``spark``
fixture of ``tests/conftest.py`` must not be the driver here, and a driver per run is what a
cluster job looks like. Outputs are compared by reading the files with pandas.

Tests, in file order (the last one kills a worker, so it runs last):

* the demo on the cluster equals the demo in the local environment;
* the driver (the ``kedro run`` process and its JVM) killed while ``user_features`` is being
  written: the half-written folder is not mistaken for data, and ``--from-nodes
  build_user_features`` finishes the run without redoing finished work;
* a worker killed while ``feature_engineering`` runs: Spark reruns the lost work on the other
  worker and the run completes; stopped there (``--to-nodes``), it is finished with
  ``--only-missing-outputs`` without redoing finished work. Both end with the same outputs.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SMALL_DEMO_PARAMS
from tests.kedro_helpers import PROJECT_ROOT, cli_params

logger = logging.getLogger(__name__)

SCRIPT = PROJECT_ROOT / "scripts" / "local_spark_cluster.sh"
VENV_BIN = Path(sys.executable).parent
KEDRO = VENV_BIN / "kedro"
# The small demo of the rest of the suite: the flow is under test, not the models. The
# local reference run is that suite's ``small_demo_data_root`` (one run for both).
PARAMS = cli_params(SMALL_DEMO_PARAMS)
RUN_TIMEOUT = 900  # seconds for one kedro run; a hung cluster fails the test, not CI

# Deselected by a plain `pytest` (pyproject addopts); `make test` (CI) runs them after the
# rest, `make test-cluster` alone.
pytestmark = pytest.mark.cluster


@dataclass
class Cluster:
    master_url: str
    env: dict[str, str]  # environment of the script (cluster dir, ports)
    directory: Path

    def script(self, *args: str) -> str:
        done = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, (
            f"local_spark_cluster.sh {' '.join(args)} failed:\n"
            f"{done.stdout}\n{done.stderr}"
        )
        return done.stdout

    def worker_stderr(self, worker: int) -> str:
        """Everything the executors of ``worker`` wrote to stderr so far."""
        files = sorted(
            (self.directory / "work" / f"worker-{worker}").glob("*/*/stderr")
        )
        return "".join(f.read_text(errors="replace") for f in files)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KEDRO_DISABLE_TELEMETRY="true",
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=sys.executable,  # executors run the project's venv (editable install)
        PYSPARK_DRIVER_PYTHON=sys.executable,
        TZ="UTC",
        COLUMNS="240",  # rich logging: one log record per line, so node names can be matched
    )
    for name in ("SPARK_MASTER_URL", "SPARKIFY_DATA_ROOT", "SPARK_HOME"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("spark-cluster")
    master_port, webui_port = _free_port(), _free_port()
    env = _base_env()
    env.update(
        SPARK_CLUSTER_DIR=str(directory),
        SPARK_CLUSTER_WORKERS="2",
        SPARK_WORKER_MEMORY="2g",
        SPARK_MASTER_PORT=str(master_port),
        SPARK_MASTER_WEBUI_PORT=str(webui_port),
        SPARK_CLUSTER_TIMEOUT="120",
    )
    handle = Cluster(f"spark://127.0.0.1:{master_port}", env, directory)
    try:
        handle.script("start")
        yield handle
    finally:
        subprocess.run(
            ["bash", str(SCRIPT), "stop"],
            check=False,
            env=env,
            capture_output=True,
            timeout=120,
        )


def _run_env(data_root: Path, cluster: Cluster | None) -> dict[str, str]:
    env = _base_env()
    env["SPARKIFY_DATA_ROOT"] = (
        data_root.as_uri()
    )  # file:///... shared by driver and workers
    if cluster is not None:
        env["SPARK_MASTER_URL"] = cluster.master_url
    return env


def _kedro_args(cluster: Cluster | None, *extra: str) -> list[str]:
    args = [str(KEDRO), "run", "--pipelines", "demo", "--params", PARAMS, *extra]
    if cluster is not None:
        args += ["--env", "cluster"]
    return args


def _kedro_run(
    data_root: Path, cluster: Cluster | None, *extra: str
) -> tuple[str, float]:
    """Run ``kedro run --pipelines demo`` to completion; its output and duration."""
    started = time.monotonic()
    done = subprocess.run(
        _kedro_args(cluster, *extra),
        cwd=PROJECT_ROOT,
        env=_run_env(data_root, cluster),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, f"kedro run failed:\n{done.stdout[-8000:]}"
    logger.warning(
        "kedro run %s (%s): %.0fs",
        " ".join(extra),
        "cluster" if cluster else "local",
        elapsed,
    )
    return done.stdout, elapsed


def _scores(data_root: Path) -> pd.DataFrame:
    path = data_root / "07_model_output" / "churn_scores.parquet"
    return pd.read_parquet(path).sort_values("user_id").reset_index(drop=True)


def _metrics(data_root: Path) -> pd.DataFrame:
    frame = pd.read_csv(data_root / "08_reporting" / "model_metrics.csv")
    keys = ["feature_set", "algorithm"]
    return frame.sort_values(keys).reset_index(drop=True)


def _assert_same_outputs(actual_root: Path, expected_root: Path) -> None:
    """Same scored users, probabilities and metrics of every model, within 1e-6.

    Every fit reads its rows hash-partitioned by user and sorted (modeling's
    ``in_stable_order``), so tree ensembles too are independent of how shuffles arrived.
    """
    actual, expected = _scores(actual_root), _scores(expected_root)
    assert actual["user_id"].tolist() == expected["user_id"].tolist()
    assert list(actual.columns) == list(expected.columns)
    for column in actual.columns:
        if pd.api.types.is_float_dtype(expected[column]):
            pd.testing.assert_series_equal(
                actual[column], expected[column], check_exact=False, atol=1e-6, rtol=0
            )
        else:
            pd.testing.assert_series_equal(actual[column], expected[column])

    metrics, expected_metrics = _metrics(actual_root), _metrics(expected_root)
    assert len(expected_metrics) == 3 * 4 + 2  # feature sets x algorithms + baselines
    pd.testing.assert_frame_equal(
        metrics, expected_metrics, check_exact=False, atol=1e-6, rtol=0
    )


@pytest.fixture(scope="module")
def local_reference(small_demo_data_root: Path) -> Path:
    """The demo in local mode, with the same parameters: what every cluster run must equal.

    It is the session's small demo (tests/conftest.py), run once for the whole suite.
    """
    return small_demo_data_root


@pytest.fixture(scope="module")
def cluster_demo(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """The demo on the cluster, uninterrupted: its data root and output."""
    data_root = tmp_path_factory.mktemp("cluster-demo")
    output, _ = _kedro_run(data_root, cluster)
    return data_root, output


def test_demo_on_cluster_equals_local_run(
    cluster: Cluster, cluster_demo: tuple[Path, str], local_reference: Path
) -> None:
    data_root, output = cluster_demo
    assert f"master={cluster.master_url}" in output
    # the executors really ran on both workers, in the project's venv (PYSPARK_PYTHON)
    for worker in (1, 2):
        assert "Running task" in cluster.worker_stderr(worker)
    _assert_same_outputs(data_root, local_reference)


FIRST_HALF = [  # persisted datasets of churn labeling and feature engineering
    "03_primary/churn_labels.parquet",
    "04_feature/user_features.parquet",
    "05_model_input/model_input_table.parquet",
]


def _files(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file()
    }


def _table(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_killed_driver_then_resumed_from_nodes(
    cluster: Cluster, local_reference: Path, tmp_path: Path
) -> None:
    """SIGKILL the whole driver (Python and JVM) during a Spark write, then ``--from-nodes``.

    The kill lands while ``user_features`` is being written (its ``_temporary`` folder is
    there), so the folder is left without Spark's ``_SUCCESS`` marker. The resumed run
    reruns ``build_user_features`` and what follows it, no node before it, rewrites no file
    the stopped run had finished, and ends with the local run's outputs.
    """
    being_written = tmp_path / "04_feature" / "user_features.parquet"
    driver = subprocess.Popen(
        _kedro_args(cluster),
        cwd=PROJECT_ROOT,
        env=_run_env(tmp_path, cluster),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the JVM dies with it
    )
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not (being_written / "_temporary").exists():
            assert driver.poll() is None, "the run ended before writing user_features"
            assert time.monotonic() < deadline, "user_features was never written"
            time.sleep(0.02)
        os.killpg(driver.pid, signal.SIGKILL)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
    assert not (being_written / "_SUCCESS").exists(), "the kill came after the commit"
    assert not (tmp_path / "05_model_input" / "model_input_table.parquet").exists()

    finished = {
        name: mtime
        for name, mtime in _files(tmp_path).items()
        if not name.startswith("04_feature/user_features.parquet/")
    }
    output, _ = _kedro_run(tmp_path, cluster, "--from-nodes", "build_user_features")
    for node in ("generate_events", "build_clean_events", "build_churn_labels"):
        assert f"Running node: {node}" not in output
    assert "Running node: build_user_features" in output
    after = _files(tmp_path)
    rewritten = [name for name, mtime in finished.items() if after.get(name) != mtime]
    assert rewritten == [], f"finished datasets written again: {rewritten[:10]}"
    assert (being_written / "_SUCCESS").exists()
    _assert_same_outputs(tmp_path, local_reference)


def _kill_worker_during(
    cluster: Cluster, args: list[str], env: dict[str, str], node: str
) -> str:
    """Run ``args``; SIGKILL worker 1 (and its executor) once it runs a task of ``node``."""
    process = subprocess.Popen(
        args,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reached = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if f"Running node: {node}" in line:
                reached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert reached.wait(RUN_TIMEOUT), "".join(lines[-200:])
        seen = cluster.worker_stderr(1).count("Running task")
        deadline = time.monotonic() + 120
        while cluster.worker_stderr(1).count("Running task") == seen:
            assert time.monotonic() < deadline, f"worker 1 got no task of {node}"
            time.sleep(0.05)
        logger.warning(cluster.script("kill-worker", "1"))
        process.wait(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=10)
    output = "".join(lines)
    assert process.returncode == 0, output[-8000:]
    return output


def test_lost_worker_then_resumed_run(
    cluster: Cluster,
    cluster_demo: tuple[Path, str],
    local_reference: Path,
    tmp_path: Path,
) -> None:
    """Kills a worker, so it runs last (file order). Two checks on one run, to keep CI short:

    1. lost worker: worker 1 is SIGKILLed (JVM and executor) while ``build_user_features``
       runs; Spark recomputes the lost tasks and shuffle output on worker 2 and the run
       completes with the same datasets as the uninterrupted cluster run;
    2. resume: that run was stopped after ``build_model_input_table`` (``--to-nodes``);
       ``--only-missing-outputs`` finishes it without running or rewriting any finished
       node, and the final outputs equal the local run's.
    """
    env = _run_env(tmp_path, cluster)
    output = _kill_worker_during(
        cluster,
        _kedro_args(cluster, "--to-nodes", "build_model_input_table"),
        env,
        "build_user_features",
    )
    assert "Completed node: build_model_input_table" in output
    assert "registered workers: 1" in cluster.script("status")
    reference = cluster_demo[0]
    for dataset in FIRST_HALF:
        pd.testing.assert_frame_equal(
            _table(tmp_path / dataset),
            _table(reference / dataset),
            check_exact=False,
            atol=1e-9,
        )
    assert not (tmp_path / "08_reporting" / "model_metrics.csv").exists()

    first_half = _files(tmp_path)
    output, _ = _kedro_run(tmp_path, cluster, "--only-missing-outputs")
    for node in ("generate_events", "build_clean_events", "build_user_features"):
        assert f"Running node: {node}" not in output
    after = _files(tmp_path)
    rewritten = [name for name, mtime in first_half.items() if after.get(name) != mtime]
    assert rewritten == [], f"finished datasets written again: {rewritten[:10]}"
    _assert_same_outputs(tmp_path, local_reference)
