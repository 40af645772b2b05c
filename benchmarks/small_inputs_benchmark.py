"""Time ``kedro run --pipelines data_processing`` on small inputs with every mix of bad lines.

Each mix is a log of at most 100 lines, written to a temporary folder and run in a
``kedro run`` of its own (a fresh JVM, as a user runs it). The table gives the run's node
time (the sum of the node times the run prints, Spark session start excluded) and the
slowest nodes, the median of ``--repeat`` runs::

    python benchmarks/small_inputs_benchmark.py                 # table on stdout
    python benchmarks/small_inputs_benchmark.py --repeat 3 --readme  # into the README

``--readme`` writes the table, with the commit, the machine and its load, between the
markers of the data_processing README. The goal: at most 5 s of node time for any mix.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from model_quality_benchmark import commit_label, machine_label

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


def run(log: Path, data_root: Path) -> dict[str, float]:
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
        env={
            **os.environ,
            "SPARKIFY_DATA_ROOT": str(data_root),
            "KEDRO_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kedro run failed on {log}:\n{done.stderr[-3000:]}")
    found = (_NODE_TIME.match(line) for line in done.stderr.splitlines())
    return {m["node"]: float(m["seconds"]) for m in found if m}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--output", type=Path, help="also write the table here")
    parser.add_argument("--readme", action="store_true", help="write it in the README")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    rows = [
        "| input | lines | node time | parse | build | duplicates | quarantine |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="small_inputs_") as folder:
        for number, (name, lines) in enumerate(MIXES.items()):
            log = Path(folder) / f"mix-{number}.json"
            log.write_text("\n".join(lines) + "\n", encoding="utf-8")
            runs = [
                run(log, Path(folder) / f"data-{number}-{n}")
                for n in range(args.repeat)
            ]
            times = {node: statistics.median(r[node] for r in runs) for node in runs[0]}
            rows.append(
                f"| {name} | {len(lines)} | {sum(times.values()):.1f} s | "
                + " | ".join(
                    f"{times[node]:.1f}"
                    for node in (
                        "parse_event_lines",
                        "build_clean_events",
                        "drop_duplicate_events",
                        "extract_quarantined_lines",
                    )
                )
                + " |"
            )
            print(rows[-1], flush=True)  # noqa: T201
    table = "\n".join(rows)
    header = (
        f"{datetime.now(UTC):%Y-%m-%d}, commit {commit_label()}, {machine_label()}, "
        f"load (1 min) {load_before:.1f} before and {os.getloadavg()[0]:.1f} after; "
        f"seconds of node time, median of {args.repeat} runs:"
    )
    print(f"\n{header}\n{table}")  # noqa: T201
    if args.output:
        args.output.write_text(table + "\n", encoding="utf-8")
    if args.readme:
        write_readme_block(f"{header}\n\n{table}")


def write_readme_block(block: str) -> None:
    """Replace the lines between the README's :data:`README_BLOCK` markers."""
    text = README.read_text(encoding="utf-8")
    start, end = README_BLOCK
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    README.write_text(f"{before}{start}\n{block}\n{end}{after}", encoding="utf-8")


if __name__ == "__main__":
    main()
