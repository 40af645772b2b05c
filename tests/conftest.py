"""Shared fixtures (one local SparkSession per test process, one small demo per run) and
how ``pytest -n 2`` (pytest-xdist, ``make test``) shares the work between processes."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import execnet
import pytest
from pyspark.sql import SparkSession
from xdist.scheduler import LoadScopeScheduling

from sparkify_kedro.known_warnings import as_pytest_filters
from tests.kedro_helpers import FIXTURES, SAMPLE_LOG, captured_output, run_pipeline

#: A demo run small enough for the test suite: 80 simulated users, every stage, modeling
#: with one grid point per algorithm, few iterations and two origins (one to choose, one
#: to test the choice), few bootstrap resamples and futures (the flow is under test here;
#: model quality and the ceiling's precision have their own tests and benchmark). The
#: cluster tests run the same parameters and compare with this run.
SMALL_DEMO_PARAMS = {
    "simulation": {
        "n_users": 80,
        "seed": 3,
        "ceiling": {"futures": 4, "label_draws": 50},
    },
    "modeling": {
        "rolling_origin": {"max_origins": 2},
        "evaluation": {"bootstrap_resamples": 100},
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
# Every Spark JVM of the tests (this process's, subprocesses', the test cluster's executors)
# reads tests/spark_conf/spark-defaults.conf: JIT settings for short-lived JVMs.
os.environ.setdefault(
    "SPARK_CONF_DIR", str(Path(__file__).resolve().parent / "spark_conf")
)
if "PYTEST_XDIST_WORKER" in os.environ:
    # An xdist worker's __main__ (execnet's bootstrap) has neither __spec__ nor __file__,
    # which pyspark.sql.connect takes for a doctest run without its dependencies: it then
    # calls sys.exit(0) when imported (MLflow's log_model imports it). Name the file.
    _main = sys.modules["__main__"]
    if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
        _main.__file__ = execnet.__file__


def pytest_configure(config: pytest.Config) -> None:
    """The project's known warnings (sparkify_kedro/known_warnings.py, their one home)
    ignored in every test: pytest sets its own filters around each one."""
    for line in as_pytest_filters():
        config.addinivalue_line("filterwarnings", line)


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
        # as conf/base/spark.yml: PySpark reads it once, at the first Column function
        .config("spark.python.sql.dataFrameDebugging.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session", autouse=True)
def mlflow_store(tmp_path_factory) -> Iterator[Path]:
    """One MLflow store for the Kedro runs of a test process (conf/base/globals.yml).

    A store of its own under each run's data root would create an MLflow database (a few
    seconds) per data root. Subprocesses (the cluster tests) inherit it. The small demo,
    shared by the test processes, keeps its run under its own data root.
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


def built_once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder filled by ``build`` once per test run, whichever test process asks first.

    In a plain ``pytest`` it is a new temporary folder. Under pytest-xdist the processes
    share the run's temporary root: the first to take the folder's lock builds it, the
    others wait for the lock and reuse it (a failed build is retried by the next one).
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent
    folder, built = shared / name, shared / f"{name}.built"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            built.touch()
    return folder


@pytest.fixture(scope="session")
def small_demo_data_root(spark, tmp_path_factory) -> Path:
    """``kedro run --pipelines demo`` on 80 simulated users, once per test run.

    Tests read it and never write to it (``copy_data_root`` gives a copy to write to).
    What the run showed is kept beside it (``small_demo_log``).
    """
    return built_once_per_run(tmp_path_factory, "small_demo", _run_small_demo)


@pytest.fixture(scope="session")
def processed_sample_data_root(spark, tmp_path_factory) -> Path:
    """``kedro run --pipelines data_processing`` on the sample log, once per test run.

    ``raw_events_path`` points at the fixture outside the data root, as a user points it at
    an export. Tests read it and never write to it (``copy_data_root`` gives a copy).
    """
    return built_once_per_run(
        tmp_path_factory,
        "processed_sample",
        lambda data_root: run_pipeline(
            "data_processing", data_root, {"raw_events_path": str(SAMPLE_LOG)}
        ),
    )


@pytest.fixture(scope="session")
def small_demo_log(small_demo_data_root) -> str:
    """What the small demo run showed: its log, its warnings, what Spark printed."""
    return _output_file(small_demo_data_root).read_text(encoding="utf-8")


def _output_file(data_root: Path) -> Path:
    """The file beside a run's data root that holds the run's output (shared like it)."""
    return data_root.with_name(f"{data_root.name}.log")


def _run_small_demo(data_root: Path) -> None:
    """The small demo, its output captured, its MLflow run recorded beside its data
    (``<data_root>/mlruns``, the project's default) rather than in this process's
    ``mlflow_store``: every test process reads both there."""
    output = _output_file(data_root)
    output.unlink(missing_ok=True)  # a build retried after a failure starts afresh
    store = os.environ.pop("SPARKIFY_MLRUNS", None)
    try:
        with captured_output(output):
            run_pipeline("demo", data_root, SMALL_DEMO_PARAMS)
    finally:
        if store is not None:
            os.environ["SPARKIFY_MLRUNS"] = store


# --- pytest-xdist: which tests run in the same process, and in what order -------------

#: Units handed out first, longest first, so that the two processes finish together:
#: the cluster run (a subprocess; its comparison waits for the small demo), the small
#: demo (built by the first test that needs it), then the slowest folders.
LONGEST_UNITS = (
    "tests/cluster",
    "tests/test_demo.py",
    "tests/pipelines/feature_engineering",
    "tests/pipelines/data_processing",
    "tests/pipelines/simulation",
    "tests/pipelines/modeling",
    "tests/test_inference.py",
    "tests/notebooks",
    "tests/viz",
    "tests/pipelines/reporting",
)


def xdist_unit(nodeid: str) -> str:
    """The unit of work of a test: its folder below ``tests/``, or its file at the top.

    A folder's tests share its conftest's session fixtures (a simulated log, a built
    kedro-viz site) and its modules' fixtures, so they run in one process.
    """
    path = nodeid.split("::", 1)[0]
    folder, _, _ = path.rpartition("/")
    return folder if folder.count("/") >= 1 else path


def _unit_rank(nodeid: str) -> int:
    unit = xdist_unit(nodeid)
    return LONGEST_UNITS.index(unit) if unit in LONGEST_UNITS else len(LONGEST_UNITS)


def pytest_collection_modifyitems(config, items):
    """Under xdist, the longest units first (a stable sort: order within a unit kept)."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        items.sort(key=lambda item: _unit_rank(item.nodeid))


class UnitScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with ``xdist_unit`` as the scope, in collection order."""

    def __init__(self, config, log=None):
        config.option.loadscopereorder = False
        super().__init__(config, log)

    def _split_scope(self, nodeid: str) -> str:
        return xdist_unit(nodeid)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    return UnitScheduling(config, log)
