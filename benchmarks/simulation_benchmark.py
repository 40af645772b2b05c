"""Time the simulator on this machine: generation, the whole pipeline, and scale.

Usage (from the project root)::

    PYSPARK_PYTHON=.venv/bin/python .venv/bin/python benchmarks/simulation_benchmark.py
    PYSPARK_PYTHON=.venv/bin/python .venv/bin/python benchmarks/simulation_benchmark.py \\
        --users 2000 22278 --cores 2 --out /tmp/sim_bench

For every size it generates the log with the default parameters (gzip JSON lines, as the
catalog writes it), then prints the wall-clock time, rows, bytes on disk and the time per
user, and extrapolates linearly to the full size (22,278 users). For the smallest size it
also runs the truth and calibration nodes, so the figure for the whole pipeline is there too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import yaml
from pyspark.sql import SparkSession

from sparkify_kedro.datasets import SparkTextLinesDataset
from sparkify_kedro.pipelines.simulation.calibration import build_simulation_calibration
from sparkify_kedro.pipelines.simulation.nodes import (
    build_simulation_truth,
    generate_events,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FULL_SIZE_USERS = 22_278


def report(text: str) -> None:
    """Print one line of the benchmark's output."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def folder_bytes(path: Path) -> int:
    """Total size of the part files under ``path``."""
    return sum(part.stat().st_size for part in path.glob("part-*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[225])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=Path("/tmp/sparkify_simulation_benchmark")
    )
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    params = yaml.safe_load(
        (PROJECT_ROOT / "conf" / "base" / "parameters_simulation.yml").read_text()
    )["simulation"]
    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(f"local[{args.cores}]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(4 * args.cores))
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    report(
        f"spark session: {time.perf_counter() - started:.1f} s on local[{args.cores}]"
    )

    for position, n_users in enumerate(sorted(args.users)):
        sized = {**params, "n_users": n_users}
        path = args.out / f"users_{n_users}"
        shutil.rmtree(path, ignore_errors=True)
        dataset = SparkTextLinesDataset(
            filepath=str(path), save_args={"mode": "overwrite", "compression": "gzip"}
        )
        began = time.perf_counter()
        dataset.save(generate_events(sized))
        generation = time.perf_counter() - began
        lines = dataset.load()
        rows = lines.count()
        size = folder_bytes(path)
        report(
            f"{n_users:>6} users: generate + write {generation:7.1f} s, {rows:,} rows, "
            f"{size / 1e6:,.1f} MB gzip ({size / rows:.0f} B/row), "
            f"{generation / n_users * 1000:.1f} ms/user, {rows / generation:,.0f} rows/s, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        report(
            f"        -> {FULL_SIZE_USERS:,} users at this rate: "
            f"{generation / n_users * FULL_SIZE_USERS / 60:.1f} min, "
            f"{rows / n_users * FULL_SIZE_USERS / 1e6:.1f} M rows, "
            f"{size / n_users * FULL_SIZE_USERS / 1e9:.2f} GB gzip"
        )
        if position == 0:
            began = time.perf_counter()
            build_simulation_truth(lines, sized).count()
            calibration = build_simulation_calibration(lines, sized)
            rest = time.perf_counter() - began
            report(
                f"        truth + calibration {rest:.1f} s; whole pipeline "
                f"{generation + rest:.1f} s (+ session start); calibration passed: "
                f"{calibration['passed']}"
            )
    spark.stop()


if __name__ == "__main__":
    main()
