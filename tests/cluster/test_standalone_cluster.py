"""``kedro run --env cluster`` on a real Spark standalone cluster on 127.0.0.1.

A module-scoped fixture starts ``scripts/local_spark_cluster.sh`` (a master and two workers of
one core each, free ports, a temporary ``SPARK_CLUSTER_DIR``) and stops it whatever happens.
Every Kedro run is a subprocess (``.venv/bin/kedro run``): the session-scoped local ``spark``
fixture of ``tests/conftest.py`` must not be the driver here, and a driver per run is what a
cluster job looks like. Outputs are compared by reading the files with pandas.

One run of the demo on the cluster, interrupted twice, then resumed (a module-scoped
fixture, so CI pays for one cluster run), and the tests read what it left:

1. worker 1 (its JVM and executor) is SIGKILLed while ``generate_events`` runs: Spark
   reruns the lost tasks on worker 2 and the run goes on;
2. the driver (the ``kedro run`` process group: Python and its JVM) is SIGKILLed while
   ``user_features`` is being written, leaving the folder without Spark's ``_SUCCESS``;
3. ``kedro run --only-missing-outputs`` finishes the run: the half-written folder counts as
   missing, no finished node runs again and no finished file is rewritten;

and the outputs equal the local run's: the test session's small demo, same parameters.
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
from tests.kedro_helpers import (
    PROJECT_ROOT,
    cli_params,
    nodes_finished,
    nodes_started,
)

logger = logging.getLogger(__name__)

SCRIPT = PROJECT_ROOT / "scripts" / "local_spark_cluster.sh"
VENV_BIN = Path(sys.executable).parent
KEDRO = VENV_BIN / "kedro"
# The small demo of the rest of the suite: the flow is under test, not the models. The
# local reference run is that suite's ``small_demo_data_root`` (one run for both).
PARAMS = cli_params(SMALL_DEMO_PARAMS)
RUN_TIMEOUT = 900  # seconds for one kedro run; a hung cluster fails the test, not CI

# Deselected by a plain `pytest` (pyproject addopts); `make test` (CI) runs them with the
# rest (sharing the session's small demo as the local reference), `make test-cluster` alone.
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
    # the procedure and two baselines on the test rows, then the candidates: feature sets
    # x algorithms (one grid point each in the small demo) + two baselines
    assert len(expected_metrics) == 3 + 3 * 4 + 2
    pd.testing.assert_frame_equal(
        metrics, expected_metrics, check_exact=False, atol=1e-6, rtol=0
    )


@pytest.fixture(scope="module")
def local_reference(small_demo_data_root: Path) -> Path:
    """The demo in local mode, with the same parameters: what the cluster run must equal.

    It is the session's small demo (tests/conftest.py), run once for the whole suite.
    """
    return small_demo_data_root


@dataclass
class InterruptedRun:
    data_root: Path
    first_output: str  # the stopped run's log
    executors_on_both_workers: bool  # from the executor logs of the stopped run
    status_after_worker_kill: str
    finished_before_resume: dict[str, int]  # file -> mtime when the resume starts
    resumed_output: str


BEING_WRITTEN = Path("04_feature") / "user_features.parquet"
#: Where worker 1 is killed: the simulator, the biggest Spark job of the demo.
WORKER_LOST_DURING = "generate_events"


def _run_until_killed(cluster: Cluster, data_root: Path) -> tuple[str, bool, str]:
    """Run the demo; kill worker 1 during ``generate_events``, then the driver while
    ``user_features`` is being written. Returns the log, whether both workers ran
    tasks, and the cluster status after the driver kill."""
    driver = subprocess.Popen(
        _kedro_args(cluster),
        cwd=PROJECT_ROOT,
        env=_run_env(data_root, cluster),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the JVM dies with it
    )
    lines: list[str] = []
    node_running = threading.Event()

    def read() -> None:
        assert driver.stdout is not None
        for line in driver.stdout:
            lines.append(line)
            if nodes_started([line]) == {WORKER_LOST_DURING}:
                node_running.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert node_running.wait(RUN_TIMEOUT), "".join(lines[-200:])
        seen = cluster.worker_stderr(1).count("Running task")
        deadline = time.monotonic() + 120
        while cluster.worker_stderr(1).count("Running task") == seen:
            assert time.monotonic() < deadline, (
                f"worker 1 got no {WORKER_LOST_DURING} task"
            )
            time.sleep(0.05)
        logger.warning(cluster.script("kill-worker", "1"))
        deadline = time.monotonic() + RUN_TIMEOUT
        while not (data_root / BEING_WRITTEN / "_temporary").exists():
            assert driver.poll() is None, "".join(lines[-200:])
            assert time.monotonic() < deadline, f"{BEING_WRITTEN} was never written"
            time.sleep(0.02)
        os.killpg(driver.pid, signal.SIGKILL)
        status = cluster.script("status")
        # the executor logs stay on disk after the kill: tasks ran on both workers
        both = all("Running task" in cluster.worker_stderr(w) for w in (1, 2))
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
        reader.join(timeout=10)
    return "".join(lines), both, status


@pytest.fixture(scope="module")
def interrupted_run(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> InterruptedRun:
    data_root = tmp_path_factory.mktemp("cluster-demo")
    first_output, both, status = _run_until_killed(cluster, data_root)
    finished = _files(data_root)
    resumed_output, _ = _kedro_run(data_root, cluster, "--only-missing-outputs")
    return InterruptedRun(
        data_root, first_output, both, status, finished, resumed_output
    )


def _files(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file()
    }


def test_the_run_used_the_cluster_and_both_workers(
    cluster: Cluster, interrupted_run: InterruptedRun
) -> None:
    assert f"master={cluster.master_url}" in interrupted_run.first_output
    # the executors ran on both workers, in the project's venv (PYSPARK_PYTHON)
    assert interrupted_run.executors_on_both_workers
    # with the test JVMs' JIT settings (tests/spark_conf), added to the project's own
    command = cluster.worker_stderr(2)
    assert "-XX:TieredStopAtLevel=1" in command
    assert "-XX:-DontCompileHugeMethods" in command


def test_a_lost_worker_costs_its_tasks_not_the_run(
    interrupted_run: InterruptedRun,
) -> None:
    assert "registered workers: 1" in interrupted_run.status_after_worker_kill
    # the simulator's lost tasks were redone on worker 2, and the run went on from there
    finished = nodes_finished(interrupted_run.first_output.splitlines())
    for node in (WORKER_LOST_DURING, "build_clean_events", "build_churn_labels"):
        assert node in finished


def test_a_killed_driver_leaves_an_unfinished_folder_that_is_not_taken_for_data(
    interrupted_run: InterruptedRun,
) -> None:
    finished = interrupted_run.finished_before_resume
    assert f"{BEING_WRITTEN}/_SUCCESS" not in finished, "the kill came after the commit"
    assert "build_user_features" in nodes_started(
        interrupted_run.resumed_output.splitlines()
    )
    assert (interrupted_run.data_root / BEING_WRITTEN / "_SUCCESS").exists()


def test_the_resumed_run_redoes_no_finished_work(
    interrupted_run: InterruptedRun,
) -> None:
    started = nodes_started(interrupted_run.resumed_output.splitlines())
    for node in (WORKER_LOST_DURING, "build_clean_events", "build_churn_labels"):
        assert node not in started
    after = _files(interrupted_run.data_root)
    rewritten = [
        name
        for name, mtime in interrupted_run.finished_before_resume.items()
        if not name.startswith(f"{BEING_WRITTEN}/") and after.get(name) != mtime
    ]
    assert rewritten == [], f"finished datasets written again: {rewritten[:10]}"


def test_the_cluster_run_equals_the_local_run(
    interrupted_run: InterruptedRun, local_reference: Path
) -> None:
    """Same scored users, probabilities and metrics of every model, within 1e-6; the same
    labels and features exactly (within 1e-9)."""
    for dataset in FIRST_HALF:
        pd.testing.assert_frame_equal(
            _table(interrupted_run.data_root / dataset),
            _table(local_reference / dataset),
            check_exact=False,
            atol=1e-9,
        )
    _assert_same_outputs(interrupted_run.data_root, local_reference)


FIRST_HALF = [  # persisted datasets of churn labeling and feature engineering
    "03_primary/churn_labels.parquet",
    "04_feature/user_features.parquet",
    "05_model_input/model_input_table.parquet",
]


def _table(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)
