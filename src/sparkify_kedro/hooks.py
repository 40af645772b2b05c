"""Project hooks: the one SparkSession of a Kedro run, and the run's progress log (node, time, rows)."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Node, Pipeline
from pyspark import SparkConf
from pyspark.sql import SparkSession

from sparkify_kedro.datasets import SparkDataset

logger = logging.getLogger(__name__)

#: The driver's log4j2 configuration, relative to the project (conf/log4j2.properties says
#: what it keeps).
LOG4J2_CONFIG = Path("conf") / "log4j2.properties"
_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
_CONSOLE_PROGRESS = "spark.ui.showConsoleProgress"
#: Spark ML's BLAS (dev.ludovic.netlib) tries the system's native library first, and its
#: JNI code prints a "dlopen(libblas.so.3) failed" line to stderr when there is none.
_NATIVE_BLAS_LIBRARY = "libblas.so.3"
_NO_NATIVE_BLAS = "-Ddev.ludovic.netlib.blas.allowNative=false"


def native_blas_loadable() -> bool:
    """Whether this machine has the native BLAS library Spark ML would load."""
    try:
        ctypes.CDLL(_NATIVE_BLAS_LIBRARY)
    except OSError:
        return False
    return True


def with_driver_logging(
    spark_conf: dict[str, object],
    log4j2_config: Path,
    terminal: bool,
    native_blas: bool = True,
) -> dict[str, object]:
    """``spark_conf`` with the project's driver log settings added.

    The driver reads ``log4j2_config`` (if the file exists and no log4j2 file is set
    already). Spark's console progress bar redraws itself with carriage returns several times
    a second: it stays on, if the configuration asks for it, only when stderr is a
    ``terminal``; in a log file it would add one unreadable line per long stage. Without a
    ``native_blas`` library on the machine, Spark ML is told not to look for one: it uses
    its Java BLAS either way, and the failed look-up prints a line of its own.
    """
    conf = dict(spark_conf)
    java_options = str(conf.get(_JAVA_OPTIONS, ""))
    if log4j2_config.is_file() and "log4j2.configurationFile" not in java_options:
        option = f"-Dlog4j2.configurationFile={log4j2_config.resolve()}"
        java_options = f"{option} {java_options}".strip()
    if not native_blas and "netlib.blas.allowNative" not in java_options:
        java_options = f"{java_options} {_NO_NATIVE_BLAS}".strip()
    if java_options:
        conf[_JAVA_OPTIONS] = java_options
    if not terminal and str(conf.get(_CONSOLE_PROGRESS, "false")).lower() == "true":
        conf[_CONSOLE_PROGRESS] = "false"
    return conf


def build_spark_session(spark_conf: dict[str, object], app_name: str) -> SparkSession:
    """Create (or reuse) the SparkSession with ``spark_conf`` applied.

    ``spark_conf`` holds Spark properties (``spark.master``, ``spark.sql.*`` ...). If a
    session already exists in this process (a test, a notebook), Spark keeps its static
    settings and applies the runtime ones.
    """
    if str(spark_conf.get("spark.master", "")).startswith("local"):
        # Python workers of local Spark run this interpreter (and its packages), not
        # whatever `python3` comes first on the PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # and every Spark service of this process binds to loopback
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    conf = SparkConf().setAll([(key, str(value)) for key, value in spark_conf.items()])
    spark = SparkSession.builder.appName(app_name).config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel(str(spark_conf.get("spark.log.level", "WARN")))
    if spark.sparkContext.master.startswith("local"):
        _silence_echoed_task_failures(spark)
    return spark


def _silence_echoed_task_failures(spark: SparkSession) -> None:
    """Turn off the logs that echo a failed task's Java stack trace in local mode, and
    quiet those of the tasks cancelled after it.

    Local executors run in the driver's JVM, so four Spark loggers print a failing task's
    stack trace (each of them, up to four times) before the driver raises the very same
    error. The raised error still carries it; for an unreadable input file the project
    replaces it by one line naming the file (``sparkify_kedro.spark_errors``), which these
    logs would bury. The job's other tasks are then cancelled while they write, and Hadoop
    warns about their cleanup: its shell "Interrupted while joining" a ``chmod`` (with 43
    Java frames), its committer "Could not delete" their half-written ``_temporary`` files
    (the output is refused on load all the same). Those two keep their errors. On a
    cluster (any other master) all of them log on the executors, and are left alone.
    """
    jvm = spark._jvm
    configurator = jvm.org.apache.logging.log4j.core.config.Configurator
    level = jvm.org.apache.logging.log4j.Level
    for logger, quiet in (
        ("org.apache.spark.executor.Executor", level.OFF),
        ("org.apache.spark.scheduler.TaskSetManager", level.OFF),
        ("org.apache.spark.sql.execution.datasources.FileFormatWriter", level.OFF),
        ("org.apache.spark.util.Utils", level.OFF),  # "Aborting task", with the trace
        ("org.apache.hadoop.util.Shell", level.ERROR),
        ("org.apache.hadoop.mapreduce.lib.output.FileOutputCommitter", level.ERROR),
    ):
        configurator.setLevel(logger, quiet)


class SparkHooks:
    """Builds the SparkSession from ``conf/<env>/spark*.yml`` when the context is created.

    Every Spark dataset of the catalog and every node then uses this session
    (``SparkSession.builder.getOrCreate()`` returns it). kedro-viz runs without hooks, and
    nothing in the catalog needs a session until data is actually loaded.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        spark_conf = with_driver_logging(
            dict(context.config_loader["spark"]),
            context.project_path / LOG4J2_CONFIG,
            terminal=sys.stderr.isatty(),
            native_blas=native_blas_loadable(),
        )
        spark = build_spark_session(spark_conf, app_name=context.project_path.name)
        logger.info(
            "SparkSession ready: master=%s, env=%s",
            spark.sparkContext.master,
            context.env or getattr(context.config_loader, "default_run_env", None),
        )


class NodeTimingHooks:
    """Logs the run's progress, one line as each node starts and one as it ends, and a
    summary of node times at the end.

    A node's time runs from the first load of its inputs to the last save of its outputs:
    Spark is lazy, so most of a Spark node's work happens when its output is written, after
    the node function has returned. The end line gives the rows of each output whose count
    costs no Spark job: a pandas frame's length, a local Parquet folder's footers
    (:meth:`SparkDataset.saved_rows`); counting any other Spark output would read it again.
    The summary lists the slowest nodes first with their share of the run, so a run's cost
    is read in one place.
    """

    def __init__(self, summary_rows: int = 15) -> None:
        self._summary_rows = summary_rows
        self._catalog: CatalogProtocol | None = None
        self._total = 0
        self._started: dict[str, tuple[int, float]] = {}
        self._unsaved: dict[str, int] = {}
        self._rows: dict[str, list[str]] = {}
        self._durations: dict[str, float] = {}

    def _start(self, node: Node) -> None:
        if node.name in self._started or node.name in self._durations:
            return
        number = len(self._started) + len(self._durations) + 1
        self._started[node.name] = (number, time.perf_counter())
        logger.info("%s %s", self._position(number), node.name)

    def _position(self, number: int) -> str:
        width = len(str(self._total))
        return f"[{number:>{width}}/{self._total}]"

    def _saved_rows(self, dataset_name: str, data: Any) -> int | None:
        if isinstance(data, pd.DataFrame):
            return len(data)
        dataset = self._catalog.get(dataset_name) if self._catalog is not None else None
        return dataset.saved_rows() if isinstance(dataset, SparkDataset) else None

    def _finish(self, node: Node) -> None:
        number, started = self._started.pop(node.name, (0, None))
        if started is None:
            return
        self._durations[node.name] = time.perf_counter() - started
        rows = self._rows.pop(node.name, [])
        logger.info(
            "%s %s: %.1f s%s",
            self._position(number),
            node.name,
            self._durations[node.name],
            f", rows: {', '.join(rows)}" if rows else "",
        )

    @hook_impl
    def after_catalog_created(self, catalog: CatalogProtocol) -> None:
        self._catalog = catalog

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline) -> None:
        self._total = len(pipeline.nodes)
        self._started.clear()
        self._unsaved.clear()
        self._rows.clear()
        self._durations.clear()

    @hook_impl
    def before_dataset_loaded(self, node: Node) -> None:
        self._start(node)

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        self._start(node)
        self._unsaved[node.name] = len(node.outputs)

    @hook_impl
    def after_node_run(self, node: Node) -> None:
        if not node.outputs:
            self._finish(node)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        rows = self._saved_rows(dataset_name, data)
        if rows is not None:
            self._rows.setdefault(node.name, []).append(f"{dataset_name} {rows:,}")
        self._unsaved[node.name] = self._unsaved.get(node.name, 1) - 1
        if self._unsaved[node.name] <= 0:
            self._finish(node)

    @hook_impl
    def after_pipeline_run(self) -> None:
        if not self._durations:
            return
        total = sum(self._durations.values())
        slowest = sorted(self._durations.items(), key=lambda item: -item[1])
        lines = [
            f"  {seconds:7.1f} s {100 * seconds / total:5.1f} %  {name}"
            for name, seconds in slowest[: self._summary_rows]
        ]
        if len(slowest) > self._summary_rows:
            rest = sum(seconds for _, seconds in slowest[self._summary_rows :])
            lines.append(
                f"  {rest:7.1f} s {100 * rest / total:5.1f} %  "
                f"the other {len(slowest) - self._summary_rows} nodes"
            )
        logger.info(
            "Node time: %.1f s over %d nodes, slowest first\n%s",
            total,
            len(self._durations),
            "\n".join(lines),
        )
