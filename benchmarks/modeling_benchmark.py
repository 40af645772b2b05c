"""Time the ``modeling`` pipeline (4 algorithms x the default feature sets, with CV).

Builds ``model_input_table`` from the simulator (the ``demo`` flow up to that dataset,
225 users by default) unless it is already under the data root, then times
``kedro run --pipelines modeling`` in this process and prints the metrics table::

    python benchmarks/modeling_benchmark.py                 # data under /tmp/sparkify_benchmark
    python benchmarks/modeling_benchmark.py --data-root /tmp/bench --rebuild

Spark runs as in ``conf/local`` (``local[*]``: every core of the machine).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODEL_INPUT = Path("05_model_input") / "model_input_table.parquet"


def _run(**run_args) -> float:
    """One ``session.run`` with ``run_args``; its wall-clock time in seconds."""
    with KedroSession.create(project_path=PROJECT_ROOT) as session:
        start = time.perf_counter()
        session.run(**run_args)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-root", type=Path, default=Path("/tmp/sparkify_benchmark")
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild model_input_table first"
    )
    args = parser.parse_args()

    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ["SPARKIFY_DATA_ROOT"] = str(args.data_root)
    bootstrap_project(PROJECT_ROOT)

    if args.rebuild or not (args.data_root / MODEL_INPUT).exists():
        seconds = _run(pipeline_names=["demo"], to_outputs=["model_input_table"])
        print(f"model_input_table built from the simulator in {seconds:.0f} s")  # noqa: T201

    rows = pd.read_parquet(args.data_root / MODEL_INPUT, columns=["user_id", "label"])
    seconds = _run(pipeline_names=["modeling"])
    metrics = pd.read_csv(args.data_root / "08_reporting" / "model_metrics.csv")
    columns = ["feature_set", "algorithm", "auc_pr", "auc_roc", "f1", "lift_top_decile"]
    report = [
        f"modeling: {seconds:.0f} s for {len(metrics) - 2} models with CV "
        f"on {len(rows)} labelled rows ({rows['user_id'].nunique()} users, "
        f"{int(rows['label'].sum())} positives)",
        metrics[columns].round(3).to_string(index=False),
    ]
    print("\n".join(report))  # noqa: T201


if __name__ == "__main__":
    main()
