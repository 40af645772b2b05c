"""``NodeTimingHooks`` and the driver's log settings.

A node's time runs from its first input load to its last output save; the run's progress
says which node of how many starts and ends, with the rows of its pandas outputs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from kedro.pipeline import Node, Pipeline

from sparkify_kedro import hooks
from sparkify_kedro.datasets import SparkDataset
from sparkify_kedro.hooks import (
    LOG4J2_CONFIG,
    NodeTimingHooks,
    native_blas_loadable,
    with_driver_logging,
)
from tests.kedro_helpers import PROJECT_ROOT


def _identity(x):
    return x


def _pair(x):
    return x, x


def test_time_spans_loads_the_function_and_every_save(monkeypatch, caplog):
    clock = iter([0.0, 100.0, 105.0, 130.0])
    monkeypatch.setattr(hooks.time, "perf_counter", lambda: next(clock))
    one = Node(_identity, "a", "b", name="one")
    two = Node(_pair, "b", ["c", "d"], name="two")
    timing = NodeTimingHooks(summary_rows=1)
    caplog.set_level(logging.INFO, logger=hooks.__name__)

    timing.before_pipeline_run(Pipeline([one, two]))
    timing.before_dataset_loaded(one)  # 0: starts the clock of "one"
    timing.before_node_run(one)
    timing.after_node_run(one)
    timing.after_dataset_saved("b", pd.DataFrame({"x": range(1234)}), one)  # 100
    timing.before_node_run(two)  # 105: no input load hook (a memory dataset, say)
    timing.after_node_run(two)
    timing.after_dataset_saved("c", object(), two)  # first of two outputs: not finished
    assert "two:" not in caplog.text
    timing.after_dataset_saved("d", object(), two)  # 130
    timing.after_pipeline_run()

    progress = [record.getMessage() for record in caplog.records[:-1]]
    assert progress == [
        "[1/2] one",
        "[1/2] one: 100.0 s, rows: b 1,234",
        "[2/2] two",
        "[2/2] two: 25.0 s",  # not a pandas frame: no rows (a Spark one needs a pass)
    ]
    summary = caplog.records[-1].getMessage()
    assert summary.startswith("Node time: 125.0 s over 2 nodes")
    assert " 100.0 s  80.0 %  one" in summary
    assert "the other 1 nodes" in summary


@pytest.mark.parametrize("outputs", [None, []])
def test_a_node_without_outputs_ends_with_its_function(monkeypatch, caplog, outputs):
    clock = iter([0.0, 2.0])
    monkeypatch.setattr(hooks.time, "perf_counter", lambda: next(clock))
    sink = Node(lambda x: None, "a", outputs, name="sink")
    timing = NodeTimingHooks()
    caplog.set_level(logging.INFO, logger=hooks.__name__)
    timing.before_pipeline_run(Pipeline([sink]))
    timing.before_node_run(sink)
    timing.after_node_run(sink)
    assert "[1/1] sink: 2.0 s" in caplog.text


def test_the_driver_reads_the_project_log4j2_file(tmp_path):
    config = tmp_path / "log4j2.properties"
    config.write_text("rootLogger.level = warn\n")
    conf = with_driver_logging(
        {"spark.driver.extraJavaOptions": "-Xss4m"}, config, terminal=True
    )
    assert conf["spark.driver.extraJavaOptions"] == (
        f"-Dlog4j2.configurationFile={config} -Xss4m"
    )
    chosen = "-Dlog4j2.configurationFile=/etc/spark/log4j2.properties"
    conf = {"spark.driver.extraJavaOptions": chosen}
    assert with_driver_logging(conf, config, terminal=True) == conf  # a file set stays
    assert with_driver_logging({}, tmp_path / "missing", terminal=True) == {}


@pytest.mark.parametrize("native_blas", [True, False])
def test_native_blas_is_not_looked_for_where_there_is_none(tmp_path, native_blas):
    conf = {"spark.driver.extraJavaOptions": "-Xss4m"}
    conf = with_driver_logging(conf, tmp_path / "missing", True, native_blas)
    options = conf["spark.driver.extraJavaOptions"]
    assert ("-Ddev.ludovic.netlib.blas.allowNative=false" in options) is not native_blas
    assert options.startswith("-Xss4m")
    assert with_driver_logging(conf, tmp_path / "missing", True, native_blas) == conf


#: A fresh driver (its own JVM: the test session's is already configured) with the
#: project's driver settings: a query whose task binary passes Spark's 1,000 KiB warning
#: size, and a model fit that makes Spark ML pick its BLAS.
_QUIET_DRIVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import SparkSession, functions as F
    from sparkify_kedro.hooks import native_blas_loadable, with_driver_logging

    conf = with_driver_logging(
        {"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1",
         "spark.driver.bindAddress": "127.0.0.1"},
        Path(sys.argv[1]), terminal=False, native_blas=native_blas_loadable(),
    )
    builder = SparkSession.builder.master("local[1]")
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    padding = F.lit("x" * 2_000_000)
    text = F.concat(F.col("id").cast("string"), padding)
    spark.range(2, numPartitions=1).select(F.length(text)).collect()
    rows = [(float(i % 2), Vectors.dense([i, i % 7])) for i in range(20)]
    LogisticRegression(maxIter=3).fit(spark.createDataFrame(rows, ["label", "features"]))
    spark.stop()
    print("done")
    """
)


def test_the_driver_says_nothing_of_task_binary_sizes_or_a_missing_native_blas(
    tmp_path,
):
    script = tmp_path / "driver.py"
    script.write_text(_QUIET_DRIVER)
    done = subprocess.run(
        [sys.executable, str(script), str(PROJECT_ROOT / LOG4J2_CONFIG)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip() == "done"
    assert "Broadcasting large task binary" not in done.stderr
    assert "netlib" not in done.stderr, (native_blas_loadable(), done.stderr)


@pytest.mark.parametrize(("terminal", "shown"), [(True, True), (False, "false")])
def test_the_console_progress_bar_is_kept_for_a_terminal_only(
    tmp_path, terminal, shown
):
    conf = {"spark.ui.showConsoleProgress": True}
    conf = with_driver_logging(conf, tmp_path / "missing", terminal=terminal)
    assert conf["spark.ui.showConsoleProgress"] == shown


def test_rows_of_a_local_parquet_output_come_from_its_footers(tmp_path, caplog):
    folder = tmp_path / "events"
    folder.mkdir()
    pd.DataFrame({"x": range(5)}).to_parquet(folder / "part-00000.snappy.parquet")
    pd.DataFrame({"x": range(7)}).to_parquet(folder / "part-00001.snappy.parquet")
    remote = SparkDataset(filepath="s3a://bucket/events", file_format="parquet")
    catalog = {
        "events": SparkDataset(filepath=str(folder), file_format="parquet"),
        "remote_events": remote,  # one request per file: not counted
        "events_csv": SparkDataset(filepath=str(folder), file_format="csv"),
    }
    write = Node(lambda x: (x, x, x), "a", list(catalog), name="write")
    timing = NodeTimingHooks()
    caplog.set_level(logging.INFO, logger=hooks.__name__)
    timing.after_catalog_created(catalog)
    timing.before_pipeline_run(Pipeline([write]))
    timing.before_node_run(write)
    for name in catalog:
        timing.after_dataset_saved(
            name, object(), write
        )  # a Spark frame: never counted
    assert caplog.records[-1].getMessage().endswith(" s, rows: events 12")
