"""Time ``kedro run --pipelines data_processing`` on small inputs with every mix of bad lines.

Each mix is a log of at most 100 lines, run two ways:

- *fresh*: a ``kedro run`` of its own, a new JVM each time, as a user runs it from the
  shell; the JVM compiles Spark's planner and the project's queries as it goes, which
  costs the same for every mix, a clean file included;
- *in a running process*: one Python process runs every mix in turn through a
  ``KedroSession`` (as the tests, a notebook or a scheduler's worker do), after one
  run over 3 good lines that warms the JVM up; each mix is then run once there, its bad
  lines seen for the first time.

The table gives node time (the sum of the node times the run prints, Spark session
start excluded), the median of ``--repeat`` runs; below it, the least a fresh JVM's Spark
spends on any such input (read, parse, write Parquet, count per user), for scale::

    python benchmarks/small_inputs_benchmark.py                 # table on stdout
    python benchmarks/small_inputs_benchmark.py --repeat 3 --readme  # into the README

``--readme`` writes the table, with the commit, the machine and its load, between the
markers of the data_processing README. The goal: at most 5 s of node time for any mix.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from model_quality_benchmark import commit_label, machine_label
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

PROJECT_ROOT = Path(__file__).resolve().parents[1]
README = PROJECT_ROOT / "src/sparkify_kedro/pipelines/data_processing/README.md"
README_BLOCK = (
    "<!-- small inputs: written by benchmarks/small_inputs_benchmark.py --readme -->",
    "<!-- end of small inputs -->",
)
SAMPLE_LOG = PROJECT_ROOT / "tests" / "fixtures" / "sample_events.jsonl"
KEDRO = Path(sys.executable).with_name("kedro")
_NODE_TIME = re.compile(r"^\s+(?P<seconds>[\d.]+) s\s+[\d.]+ %\s+(?P<node>\w+)$")

GOOD = SAMPLE_LOG.read_text(encoding="utf-8").splitlines()[:3]
EVENT = json.loads(GOOD[0])


def _event(**changes: object) -> str:
    return json.dumps({**EVENT, **changes})


def _raw(field: str, raw_value: str) -> str:
    """The event with ``field`` holding ``raw_value`` verbatim (JSON text)."""
    return json.dumps({**EVENT, field: "__raw__"}).replace('"__raw__"', raw_value)


#: One line of every kind the rules refuse or drop.
BAD_KINDS = [
    '{"ts": 1538352117000, "userId": "3\x000"}',  # a NUL byte: not JSON
    "ts,userId,page",  # a CSV row
    GOOD[0] + GOOD[1],  # text after the value
    GOOD[0] + ", " + GOOD[1],  # several values
    _event(ts=None),  # missing ts
    _event(page="  "),  # missing page
    _event(ts="noon"),  # invalid ts
    _raw("sessionId", "9007199254740993.0"),  # inexact sessionId
    _raw("length", "NaN"),  # invalid length
    _event(status=99),  # out of range status
    _event(ts=0),  # out of range ts
    _event(length=-1.5),  # out of range length
    "",  # blank line (dropped)
    _event(userId="", auth="Logged Out"),  # no user (dropped)
]


def _good(count: int) -> list[str]:
    return [_event(ts=EVENT["ts"] + 1000 * n, itemInSession=n) for n in range(count)]


def _bad(count: int) -> list[str]:
    return [BAD_KINDS[n % len(BAD_KINDS)] for n in range(count)]


#: name -> lines (each mix at most 100 lines).
MIXES: dict[str, list[str]] = {
    "3 good lines": GOOD,
    "3 good, 1 with a NUL byte": [*GOOD, BAD_KINDS[0]],
    "2 good, 6 not JSON objects": [*GOOD[:2], *["not json"] * 3, *BAD_KINDS[1:4]],
    "100 good lines": _good(100),
    f"{100 - len(BAD_KINDS)} good, one of each of {len(BAD_KINDS)} bad kinds": [
        *_good(100 - len(BAD_KINDS)),
        *BAD_KINDS,
    ],
    "50 good, 50 bad of every kind in turn": [*_good(50), *_bad(50)],
    "1 good, 99 bad of every kind in turn": [*_good(1), *_bad(99)],
}


NODES = (
    "parse_event_lines",
    "build_clean_events",
    "drop_duplicate_events",
    "extract_quarantined_lines",
)
_QUIET_ENV = {
    "KEDRO_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def _node_times(console: str) -> dict[str, float]:
    found = (_NODE_TIME.match(line) for line in console.splitlines())
    return {m["node"]: float(m["seconds"]) for m in found if m}


def fresh_run(log: Path, data_root: Path) -> dict[str, float]:
    """Node times of one ``kedro run --pipelines data_processing`` over ``log``."""
    done = subprocess.run(
        [
            str(KEDRO),
            "run",
            "--pipelines",
            "data_processing",
            "--params",
            f"raw_events_path={log}",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **_QUIET_ENV, "SPARKIFY_DATA_ROOT": str(data_root)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kedro run failed on {log}:\n{done.stderr[-3000:]}")
    return _node_times(done.stderr)


class _Messages(logging.Handler):
    """Keeps the messages it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def runs_in_one_process(runs: list[tuple[str, str]]) -> list[dict[str, float]]:
    """Node times of ``data_processing`` over each (log, data root) of ``runs``, one after
    the other in this process (run in a child process by :func:`in_process_runs`)."""
    os.environ.update(_QUIET_ENV)
    bootstrap_project(PROJECT_ROOT)
    times = []
    for log, data_root in runs:
        os.environ["SPARKIFY_DATA_ROOT"] = data_root
        handler = _Messages()
        hooks_logger = logging.getLogger("sparkify_kedro.hooks")
        hooks_logger.addHandler(handler)
        try:
            with KedroSession.create(
                runtime_params={"raw_events_path": log}
            ) as session:
                session.run(pipeline_names=["data_processing"])
        finally:
            hooks_logger.removeHandler(handler)
        times.append(_node_times("\n".join(handler.messages)))
    return times


def _last_line_of(mode: str, argument: object) -> str:
    """The last line this script prints when run with ``--<mode> <argument as JSON>`` in a
    new Python process (a new JVM)."""
    done = subprocess.run(
        [sys.executable, __file__, f"--{mode}", json.dumps(argument)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **_QUIET_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"--{mode} failed:\n{done.stderr[-3000:]}")
    return done.stdout.splitlines()[-1]


def in_process_runs(logs: list[Path], folder: Path) -> list[dict[str, float]]:
    """Node times of every log in ``logs``, run in turn in one new Python process after a
    warm-up run over the first of them (not counted)."""
    runs = [(str(log), str(folder / f"warm-{n}")) for n, log in enumerate(logs)]
    warm_up = (str(logs[0]), str(folder / "warm-up"))
    return json.loads(_last_line_of("in-process", [warm_up, *runs]))[1:]


def spark_alone(log: str, output: str) -> float:
    """Seconds a fresh JVM's Spark, with the project's settings, takes to do the least any
    such pipeline does with ``log``: read its lines, parse three fields of each, write
    them as Parquet, read that back and count the rows per user (session start excluded)."""
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create() as session:
        session.load_context()  # the project's hook builds the SparkSession
        spark = SparkSession.builder.getOrCreate()
        started = time.perf_counter()
        lines = spark.read.text(log)
        fields = F.from_json("value", "ts LONG, userId STRING, page STRING")
        lines.select(fields.alias("event")).select("event.*").write.parquet(output)
        spark.read.parquet(output).groupBy("userId").count().collect()
        return time.perf_counter() - started


def spark_alone_fresh(log: Path, output: Path) -> float:
    """:func:`spark_alone` in a new Python process (a new JVM)."""
    return float(_last_line_of("spark-alone", [str(log), str(output)]))


def _median(runs: list[dict[str, float]], node: str) -> float:
    return statistics.median(run[node] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--output", type=Path, help="also write the table here")
    parser.add_argument("--readme", action="store_true", help="write it in the README")
    parser.add_argument("--in-process", help=argparse.SUPPRESS)
    parser.add_argument("--spark-alone", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(runs_in_one_process(json.loads(args.in_process))))  # noqa: T201
        return
    if args.spark_alone:
        print(spark_alone(*json.loads(args.spark_alone)))  # noqa: T201
        return
    load_before = os.getloadavg()[0]

    rows = [
        "| input | lines | fresh: node time | parse | build | duplicates | quarantine "
        "| in a running process: node time | quarantine |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="small_inputs_") as temporary:
        folder = Path(temporary)
        logs = []
        for number, lines in enumerate(MIXES.values()):
            logs.append(folder / f"mix-{number}.json")
            logs[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
        warm = [
            in_process_runs(logs, folder / f"in-process-{n}")
            for n in range(args.repeat)
        ]
        for number, (name, lines) in enumerate(MIXES.items()):
            fresh = [
                fresh_run(logs[number], folder / f"fresh-{number}-{n}")
                for n in range(args.repeat)
            ]
            in_process = [runs[number] for runs in warm]
            rows.append(
                f"| {name} | {len(lines)} "
                f"| {statistics.median(sum(r.values()) for r in fresh):.1f} s | "
                + " | ".join(f"{_median(fresh, node):.1f}" for node in NODES)
                + f" | {statistics.median(sum(r.values()) for r in in_process):.1f} s "
                f"| {_median(in_process, NODES[-1]):.1f} |"
            )
            print(rows[-1], flush=True)  # noqa: T201
        floor = statistics.median(
            spark_alone_fresh(logs[0], folder / f"spark-alone-{n}")
            for n in range(args.repeat)
        )
    table = "\n".join(rows)
    header = (
        f"{datetime.now(UTC):%Y-%m-%d}, commit {commit_label()}, {machine_label()}, "
        f"load (1 min) {load_before:.1f} before and {os.getloadavg()[0]:.1f} after; "
        f"seconds of node time, median of {args.repeat} runs:"
    )
    footer = (
        f"Spark alone in a fresh JVM, the least any pipeline does with the 3 good lines "
        f"(read, parse three fields, write Parquet, read it back and count per user): "
        f"{floor:.1f} s."
    )
    print(f"\n{header}\n{table}\n\n{footer}")  # noqa: T201
    if args.output:
        args.output.write_text(f"{table}\n\n{footer}\n", encoding="utf-8")
    if args.readme:
        write_readme_block(f"{header}\n\n{table}\n\n{footer}")


def write_readme_block(block: str) -> None:
    """Replace the lines between the README's :data:`README_BLOCK` markers."""
    text = README.read_text(encoding="utf-8")
    start, end = README_BLOCK
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    README.write_text(f"{before}{start}\n{block}\n{end}{after}", encoding="utf-8")


if __name__ == "__main__":
    main()
