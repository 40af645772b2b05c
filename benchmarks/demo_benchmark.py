"""Time the whole demo flow: ``kedro run --pipelines demo`` on a fresh data root.

Simulation (225 users by default), data processing, labels, features, modeling with
cross-validation, scoring and reporting, in this process, with Spark as in ``conf/local``::

    python benchmarks/demo_benchmark.py                       # data under /tmp/sparkify_demo_benchmark
    python benchmarks/demo_benchmark.py --users 450 --data-root /tmp/bench
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-root", type=Path, default=Path("/tmp/sparkify_demo_benchmark")
    )
    parser.add_argument("--users", type=int, default=225)
    args = parser.parse_args()

    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    shutil.rmtree(args.data_root, ignore_errors=True)
    os.environ["SPARKIFY_DATA_ROOT"] = str(args.data_root)
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(
        project_path=PROJECT_ROOT,
        runtime_params={"simulation": {"n_users": args.users}},
    ) as session:
        start = time.perf_counter()
        session.run(pipeline_names=["demo"])
        elapsed = time.perf_counter() - start
    print(f"demo, {args.users} users, {os.cpu_count()} cores: {elapsed:.0f} s")  # noqa: T201


if __name__ == "__main__":
    main()
