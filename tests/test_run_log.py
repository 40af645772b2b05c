"""What a demo run shows: its progress, a line per node with its time, and nothing repeated.

Read from the output of the session's small demo run (``small_demo_log`` in conftest.py:
its log records, Python warnings and everything Spark wrote to stdout and stderr), so no
test here runs a pipeline of its own.
"""

from __future__ import annotations

import re
from collections import Counter

from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

from tests.kedro_helpers import PROJECT_ROOT

#: Lines that may say WARN or Warning, each with the reason it cannot be fixed at its cause.
#: Empty: every warning a small demo run showed was fixed where it came from.
ALLOWED_WARNINGS: dict[str, str] = {}

#: The lines a run shows besides its progress ("[ n/N] node", "[ n/N] node: 1.2 s, rows: ...")
#: and its node-time summary, each with why it is worth a line.
ALLOWED_LINES: dict[str, str] = {
    r"INFO Kedro project sparkify_kedro$": "which project runs",
    r"INFO SparkSession ready: master=\S+, env=\w+$": "where Spark runs: local or a cluster",
    r"INFO MLflow run \w+ recorded in \S+ \([\d.]+ s\)$": "where the run history went",
    r"INFO Candidates fitted at each origin \(successive halving\): [\d, ]+$": (
        "how many fits the model choice spent"
    ),
}
_PROGRESS_LINE = re.compile(r"INFO \[\s*\d+/\d+\] [\w.]+(: [\d.]+ s(, rows: .*)?)?$")
_SUMMARY_LINE = re.compile(
    r"INFO Node time: [\d.]+ s over \d+ nodes, slowest first$"
    r"|^\s+[\d.]+ s\s+[\d.]+ %\s+(\S+|the other \d+ nodes)$"
)
_TIMESTAMP = re.compile(r"^(\d\d/\d\d/\d\d )?\d\d:\d\d:\d\d ")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NODE_END = re.compile(r"\] (?P<node>\S+): (?P<seconds>\d+\.\d) s(, rows: .*)?$")
_WARNING = re.compile(r"\bWARN(ING)?\b|Warning\b")


def _normalised(line: str) -> str:
    return _NUMBER.sub("N", _TIMESTAMP.sub("", line)).strip()


def test_no_line_is_repeated_more_than_three_times(small_demo_log):
    lines = Counter(_normalised(line) for line in small_demo_log.splitlines())
    lines.pop("", None)
    repeated = {line: count for line, count in lines.items() if count > 3}
    assert not repeated, repeated


def test_every_node_logs_its_duration_once(small_demo_log):
    bootstrap_project(PROJECT_ROOT)
    expected = sorted(node.name for node in pipelines["demo"].nodes)
    lines = small_demo_log.splitlines()
    ended = {
        number: match["node"]
        for number, line in enumerate(lines)
        if (match := _NODE_END.search(line))
    }
    assert sorted(ended.values()) == expected
    summary = [number for number, line in enumerate(lines) if "Node time: " in line]
    assert summary and summary[-1] > max(ended)  # the summary comes after every node


def test_no_warnings_but_the_allowed_ones(small_demo_log):
    warnings = [
        line
        for line in small_demo_log.splitlines()
        if _WARNING.search(line)
        and not any(re.search(allowed, line) for allowed in ALLOWED_WARNINGS)
    ]
    assert not warnings, "\n".join(warnings)


def test_a_run_shows_its_progress_and_nothing_else(small_demo_log):
    shown = [line for line in small_demo_log.splitlines() if line.strip()]
    others = [
        line
        for line in shown
        if not _PROGRESS_LINE.search(line)
        and not _SUMMARY_LINE.search(line)
        and not any(re.search(allowed, line) for allowed in ALLOWED_LINES)
    ]
    assert not others, "\n".join(others)
    for allowed in ALLOWED_LINES:  # each allowed line is there once: none is stale
        assert sum(bool(re.search(allowed, line)) for line in shown) == 1, allowed
