"""Time each production stage against the machine's floor, at several log sizes (issue #15).

For each size, the simulated log of that many users (seed 42) is made once under
``<data-root-base>/<users>/`` (reused when a finished one is there), then each production
stage runs as its own Kedro run, in order, in this process; and on the same raw files two
floors: a scan of every field with the raw schema, and a read-and-write of every field to
parquet. Per step: wall time, events per second, peak RSS of this Python process and of
the Spark driver's JVM (sampled every 0.2 s); each size runs in a process of its own. Writes ``docs/scale_benchmark.csv``, a
log-log plot ``docs/scale_benchmark.html``, the table ``docs/scale.md`` and a short table in
the README (between its two ``scale`` markers)::

    python benchmarks/scale_benchmark.py                          # 225, 2000, 8000, 22278 users
    python benchmarks/scale_benchmark.py --sizes 225 --no-docs    # a quick try
    python benchmarks/scale_benchmark.py --sizes 22278 --resimulate
    python benchmarks/scale_benchmark.py --docs-only              # docs from the CSV again

Rows of sizes not measured in a run are kept from the existing CSV (each row says its
commit), so sizes may be measured by separate runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from model_quality_benchmark import commit_label, machine_label
from pyspark.sql import SparkSession

from sparkify_kedro.events import RAW_EVENT_SCHEMA
from sparkify_kedro.pipeline_registry import PRODUCTION_STAGES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOCS = PROJECT_ROOT / "docs"
CSV_PATH = DOCS / "scale_benchmark.csv"
PLOT_PATH = DOCS / "scale_benchmark.html"
TABLE_PATH = DOCS / "scale.md"
SEED = 42
#: The production stages in the order of ``__default__`` (pipeline_registry.py).
STAGES = tuple(stage.__name__.rpartition(".")[2] for stage in PRODUCTION_STAGES)
FLOORS = ("floor_scan", "floor_read_write")
RAW_FOLDER = Path("01_raw") / "simulated_events"
CALIBRATION = Path("08_reporting") / "simulation_calibration.json"


class RssSampler:
    """Peak VmRSS of this process and of its Spark JVM, sampled in a daemon thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peaks = {"python": 0, "jvm": 0}
        self._lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        """Read both RSS figures forever, keeping the largest since the last reset.

        The JVM is looked up in /proc only until found, and again if it is gone.
        """
        jvm = None
        while True:
            jvm_kb = vm_rss_kb(jvm)
            if not jvm_kb:
                jvm = jvm_pid()
                jvm_kb = vm_rss_kb(jvm)
            sizes = {"python": vm_rss_kb(os.getpid()), "jvm": jvm_kb}
            with self._lock:
                for name, size in sizes.items():
                    self.peaks[name] = max(self.peaks[name], size)
            time.sleep(self.interval)

    def take(self) -> dict[str, float]:
        """The peaks (MB) since the last call, and start over."""
        with self._lock:
            peaks = {name: kb / 1024 for name, kb in self.peaks.items()}
            self.peaks = {name: 0 for name in self.peaks}
        return peaks


def vm_rss_kb(pid: int | None) -> int:
    """VmRSS of a process in kB (0 if there is no such process)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError, TypeError):
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "0 0")
    return int(line.split()[1])


def jvm_pid() -> int | None:
    """The pid of the java process descending from this one (the Spark driver), if any."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
        except OSError:
            continue
        name, fields = rest.rsplit(") ", 1)
        children.setdefault(int(fields.split()[1]), []).append(int(pid))
        if name == "java":
            children.setdefault(-1, []).append(int(pid))
    javas = set(children.get(-1, []))
    queue = list(children.get(os.getpid(), []))
    while queue:
        pid = queue.pop()
        if pid in javas:
            return pid
        queue.extend(children.get(pid, []))
    return None


@contextmanager
def measured(
    sampler: RssSampler, rows: list[dict], step: str, kind: str, events: int | None
) -> Iterator[None]:
    """Time the block and append its row: seconds, events/s, peak RSS, load around it."""
    sampler.take()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    peaks = sampler.take()
    rows.append(
        {
            "step": step,
            "kind": kind,
            "seconds": round(seconds, 1),
            "events_per_s": round(events / seconds) if events else None,
            "peak_python_rss_mb": round(peaks["python"]),
            "peak_jvm_rss_mb": round(peaks["jvm"]),
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
        }
    )
    print(f"  {step}: {seconds:.1f} s", flush=True)  # noqa: T201


def kedro_run(pipeline: str, runtime_params: dict) -> None:
    """One Kedro run of ``pipeline`` in its own session (a session runs once)."""
    with KedroSession.create(
        project_path=PROJECT_ROOT, runtime_params=runtime_params
    ) as session:
        session.run(pipeline_names=[pipeline])


def finished_log(data_root: Path) -> bool:
    """Whether the simulation finished under ``data_root`` (its last output is there)."""
    return (data_root / RAW_FOLDER / "_SUCCESS").is_file() and (
        data_root / CALIBRATION
    ).is_file()


def count_events(data_root: Path) -> int:
    """Rows of the raw log, from the simulation's calibration report ('total rows')."""
    report = json.loads((data_root / CALIBRATION).read_text())
    return int(next(_find_figures(report, "total rows"))["simulated"])


def _find_figures(node: object, figure: str) -> Iterator[dict]:
    """Every dict with ``figure == figure`` anywhere in a JSON document."""
    if isinstance(node, dict):
        if node.get("figure") == figure:
            yield node
        for value in node.values():
            yield from _find_figures(value, figure)
    elif isinstance(node, list):
        for value in node:
            yield from _find_figures(value, figure)


def floor_scan(raw: str) -> None:
    """Parse every field of every line with the raw schema, writing nothing."""
    spark = SparkSession.builder.getOrCreate()
    frame = spark.read.schema(RAW_EVENT_SCHEMA).json(raw)
    frame.write.format("noop").mode("overwrite").save()


def floor_read_write(raw: str, target: Path) -> None:
    """Parse every field with the raw schema and write it all to parquet at ``target``."""
    spark = SparkSession.builder.getOrCreate()
    spark.read.schema(RAW_EVENT_SCHEMA).json(raw).write.mode("overwrite").parquet(
        str(target)
    )


def measure_size(
    users: int, data_root: Path, resimulate: bool, sampler: RssSampler
) -> list[dict]:
    """Simulate (or reuse) one size's log, run each stage and the floors; their rows."""
    os.environ["SPARKIFY_DATA_ROOT"] = str(data_root)
    rows: list[dict] = []
    if resimulate or not finished_log(data_root):
        shutil.rmtree(data_root, ignore_errors=True)
        params = {"simulation": {"n_users": users, "seed": SEED}}
        with measured(sampler, rows, "simulation", "simulation", None):
            kedro_run("simulation", params)
    events = count_events(data_root)
    raw = str(data_root / RAW_FOLDER)
    steps: list[tuple[str, str, Callable[[], None]]] = [
        (stage, "stage", lambda s=stage: kedro_run(s, {"raw_events_path": raw}))
        for stage in STAGES
    ]
    target = data_root / "_floor_parquet"
    steps += [
        ("floor_scan", "floor", lambda: floor_scan(raw)),
        ("floor_read_write", "floor", lambda: floor_read_write(raw, target)),
    ]
    for step, kind, run in steps:
        with measured(sampler, rows, step, kind, events):
            run()
    shutil.rmtree(target, ignore_errors=True)
    stamp = {"users": users, "events": events, "commit": commit_label()}
    stamp |= {
        "machine": machine_label(),
        "date": datetime.now(UTC).isoformat("T", "seconds"),
    }
    return [stamp | row for row in rows]


def merged_with_existing(frame: pd.DataFrame) -> pd.DataFrame:
    """The new rows, plus the existing CSV's rows of sizes this run did not measure."""
    if not CSV_PATH.is_file():
        return frame
    old = pd.read_csv(CSV_PATH)
    old = old[~old["users"].isin(frame["users"])]
    return pd.concat([old, frame], ignore_index=True).sort_values(
        "users", kind="stable"
    )


def summary_table(frame: pd.DataFrame) -> str:
    """Markdown: per size, events, each step's seconds, the ratio and peak RSS."""
    steps = ["simulation", *STAGES, *FLOORS]
    header = (
        "| users | events | "
        + " | ".join(f"{s} s" for s in steps)
        + " | production total s | data_processing / read-and-write"
        + " | peak Python RSS MB | peak JVM RSS MB | load (1 min) | commit |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for users, group in frame.groupby("users"):
        seconds = group.set_index("step")["seconds"].to_dict()
        stages = group[group["kind"] == "stage"]
        ratio = seconds["data_processing"] / seconds["floor_read_write"]
        load = pd.concat([group["load_before"], group["load_after"]])
        cells = [
            f"{users:,}",
            f"{group['events'].iloc[0] / 1e6:.2f} M",
            *(_seconds(seconds.get(s)) for s in steps),
            f"{stages['seconds'].sum():.0f}",
            f"{ratio:.1f}×",
            f"{stages['peak_python_rss_mb'].max():,.0f}",
            f"{stages['peak_jvm_rss_mb'].max():,.0f}",
            f"{load.min():.1f}–{load.max():.1f}",
            ", ".join(sorted(set(group["commit"]))),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    """Seconds for the table: '—' when the step did not run (a reused simulation)."""
    return "—" if value is None or pd.isna(value) else f"{value:.0f}"


def write_plot(frame: pd.DataFrame) -> None:
    """Log-log plot of seconds against events, one line per stage and per floor."""
    figure = go.Figure()
    for step in (*STAGES, *FLOORS):
        points = frame[frame["step"] == step].sort_values("events")
        dash = "dot" if step in FLOORS else "solid"
        figure.add_trace(
            go.Scatter(
                x=points["events"],
                y=points["seconds"],
                name=step,
                mode="lines+markers",
                line={"dash": dash},
            )
        )
    figure.update_layout(
        title=f"Time against events (commits {', '.join(sorted(set(frame['commit'])))}, "
        f"{frame['machine'].iloc[0]})",
        xaxis={"type": "log", "title": "events (rows of the raw log)"},
        yaxis={"type": "log", "title": "seconds"},
    )
    # plotly.js once beside the page (docs/plotly.min.js), not inside each regenerated page
    figure.write_html(PLOT_PATH, include_plotlyjs="directory")


README = PROJECT_ROOT / "README.md"
README_START = "<!-- scale: written by benchmarks/scale_benchmark.py -->"
README_END = "<!-- end of scale -->"


def readme_table(frame: pd.DataFrame) -> str:
    """Markdown for the README: per size, data_processing against its floor, the total."""
    lines = [
        "| users | events | data_processing s | read-and-write floor s | ratio "
        "| production stages s | peak JVM RSS MB | commit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for users, group in frame.groupby("users"):
        seconds = group.set_index("step")["seconds"].to_dict()
        stages = group[group["kind"] == "stage"]
        floor = seconds["floor_read_write"]
        lines.append(
            f"| {users:,} | {group['events'].iloc[0] / 1e6:.2f} M "
            f"| {seconds['data_processing']:.0f} | {floor:.0f} "
            f"| {seconds['data_processing'] / floor:.1f}× "
            f"| {stages['seconds'].sum():.0f} "
            f"| {stages['peak_jvm_rss_mb'].max():,.0f} "
            f"| {', '.join(sorted(set(group['commit'])))} |"
        )
    return "\n".join(lines)


def write_readme_table(frame: pd.DataFrame) -> None:
    """Replace the README's generated scale block (between its two markers)."""
    text = README.read_text()
    start, end = text.index(README_START), text.index(README_END)
    block = f"{README_START}\n{readme_table(frame)}\n"
    README.write_text(text[:start] + block + text[end:])


def write_docs(frame: pd.DataFrame) -> None:
    """The CSV, the plot, ``docs/scale.md`` and the README's table from every measured row."""
    frame = frame.astype({"events_per_s": "Int64"})  # empty for the simulation
    frame.to_csv(CSV_PATH, index=False)
    write_plot(frame)
    dates = f"{frame['date'].min()} to {frame['date'].max()}"
    TABLE_PATH.write_text(
        "<!-- Generated by benchmarks/scale_benchmark.py: do not edit by hand. -->\n"
        "# Scale benchmark\n\n"
        f"Generated by `benchmarks/scale_benchmark.py`, {dates}, on "
        f"{frame['machine'].iloc[0]}; commit per row below; load is the 1-minute load "
        "average around each step (above the core count means other jobs shared the "
        "machine). Seconds of wall time per step; the floors run on the same raw files "
        "in the same process. Data: `docs/scale_benchmark.csv`; plot: "
        "`docs/scale_benchmark.html`.\n\n" + summary_table(frame) + "\n"
    )
    write_readme_table(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="225,2000,8000,22278")
    parser.add_argument(
        "--data-root-base", type=Path, default=Path("/tmp/sparkify_scale")
    )
    parser.add_argument("--resimulate", action="store_true")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument(
        "--docs-only",
        action="store_true",
        help="rewrite the docs and the README table from the CSV, measuring nothing",
    )
    args = parser.parse_args()
    if args.docs_only:
        write_docs(pd.read_csv(CSV_PATH))
        return
    sizes = sorted(int(size) for size in args.sizes.split(","))
    if len(sizes) > 1:
        # One process (one driver JVM) per size: a JVM's peak memory never goes down, so
        # the sizes measured in one process would each carry the peak of the one before.
        for users in sizes:
            subprocess.run(
                [sys.executable, __file__, *_same_options(args), "--sizes", str(users)],
                check=True,
            )
        if not args.no_docs:
            print(summary_table(pd.read_csv(CSV_PATH)))  # noqa: T201
        return

    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    bootstrap_project(PROJECT_ROOT)
    (users,) = sizes
    print(f"{users} users", flush=True)  # noqa: T201
    rows = measure_size(
        users, args.data_root_base / str(users), args.resimulate, RssSampler()
    )
    if not args.no_docs:
        write_docs(merged_with_existing(pd.DataFrame(rows)))
    print(summary_table(pd.DataFrame(rows)))  # noqa: T201


def _same_options(args: argparse.Namespace) -> list[str]:
    """The command-line options of ``args`` other than the sizes."""
    options = ["--data-root-base", str(args.data_root_base)]
    return (
        options
        + (["--resimulate"] if args.resimulate else [])
        + (["--no-docs"] if args.no_docs else [])
    )


if __name__ == "__main__":
    main()
