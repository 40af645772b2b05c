"""``NodeTimingHooks`` and the driver's log settings.

A node's time runs from its first input load to its last output save; the run's progress
says which node of how many starts and ends, with the rows of its pandas outputs.
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from kedro.pipeline import Node, Pipeline

from sparkify_kedro import hooks
from sparkify_kedro.datasets import SparkDataset
from sparkify_kedro.hooks import NodeTimingHooks, with_driver_logging


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
