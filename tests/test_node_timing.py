"""``NodeTimingHooks``: a node's time runs from its first input load to its last output save."""

from __future__ import annotations

import logging

import pytest
from kedro.pipeline import Node

from sparkify_kedro import hooks
from sparkify_kedro.hooks import NodeTimingHooks


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

    timing.before_pipeline_run()
    timing.before_dataset_loaded(one)  # 0: starts the clock of "one"
    timing.before_node_run(one)
    timing.after_node_run(one)
    timing.after_dataset_saved(one)  # 100: its only output saved
    timing.before_node_run(two)  # 105: no input load hook (a memory dataset, say)
    timing.after_node_run(two)
    timing.after_dataset_saved(two)  # first of two outputs: not finished yet
    assert "two:" not in caplog.text
    timing.after_dataset_saved(two)  # 130
    timing.after_pipeline_run()

    assert "one: 100.0 s" in caplog.text
    assert "two: 25.0 s" in caplog.text
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
    timing.before_pipeline_run()
    timing.before_node_run(sink)
    timing.after_node_run(sink)
    assert "sink: 2.0 s" in caplog.text
