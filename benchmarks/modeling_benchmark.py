"""Time the ``modeling`` pipeline, or compare optimiser settings on every candidate.

Builds ``model_input_table`` from the simulator (the ``demo`` flow up to that dataset,
225 users and seed 42 by default) unless it is already under the data root, then:

- by default, times ``kedro run --pipelines modeling`` in this process (Spark as in
  ``conf/local``) and prints its node times and the metrics table;
- with ``--compare-settings``, fits every candidate at every origin (no halving) once with
  the parameters' optimiser settings and once with :data:`RICHER` (more iterations, more
  trees: the settings before they were made cheap), and prints each candidate's pooled
  validation AUC-PR under both, the difference and the candidate's bootstrap standard
  error (users resampled): the cheap settings are sound when no candidate loses more than
  its standard error against the richer ones::

    python benchmarks/modeling_benchmark.py                 # data under /tmp/sparkify_benchmark
    python benchmarks/modeling_benchmark.py --compare-settings
    python benchmarks/modeling_benchmark.py --users 2000 --data-root /tmp/bench2000 --compare-settings
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from sparkify_kedro import evaluation

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODEL_INPUT = Path("05_model_input") / "model_input_table.parquet"
SCORES = Path("06_models") / "evaluations" / "candidate_scores.parquet"
#: Richer optimiser settings than ``conf/base/parameters_modeling.yml``'s.
RICHER = {
    "random_forest": {"params": {"numTrees": 50}},
    "logistic_regression": {"params": {"maxIter": 25}},
    "linear_svc": {"params": {"maxIter": 25}},
}
NO_HALVING = {"rolling_origin": {"keep_fraction": 1.0}}


def _run(runtime_params: dict | None = None, **run_args) -> float:
    """One ``session.run`` with ``run_args``; its wall-clock time in seconds."""
    with KedroSession.create(
        project_path=PROJECT_ROOT, runtime_params=runtime_params or {}
    ) as session:
        start = time.perf_counter()
        session.run(**run_args)
        return time.perf_counter() - start


def pooled_figures(scores: pd.DataFrame, resamples: int = 1000) -> pd.DataFrame:
    """Each model's AUC-PR pooled over its rows, and its bootstrap standard error
    (users resampled, the same resamples for every model)."""
    wide = scores.pivot(index=["cutoff", "user_id"], columns="model", values="score")
    rows = scores.drop_duplicates(["cutoff", "user_id"]).set_index(
        ["cutoff", "user_id"]
    )
    labels = rows["label"].reindex(wide.index).to_numpy(dtype=int)
    users = pd.factorize(wide.index.get_level_values("user_id"))[0]
    columns = {model: wide[model].to_numpy(dtype=float) for model in wide.columns}
    draws = evaluation.bootstrap_metrics(
        labels, columns, None, users, resamples, 42, ["auc_pr"]
    )
    return pd.DataFrame(
        {
            "auc_pr": {m: evaluation.auc_pr(labels, s) for m, s in columns.items()},
            "se": {m: float(np.nanstd(draws[m]["auc_pr"])) for m in columns},
        }
    )


def compare_settings(data_root: Path) -> None:
    """Every candidate at every origin under both settings; the table and the times."""
    figures, seconds = {}, {}
    for label, algorithms in (("parameters", {}), ("richer", RICHER)):
        params = {"modeling": {**NO_HALVING, "algorithms": algorithms}}
        seconds[label] = _run(
            params, pipeline_names=["modeling"], to_nodes=["race_candidates"]
        )
        figures[label] = pooled_figures(pd.read_parquet(data_root / SCORES))
    table = figures["parameters"].join(figures["richer"], rsuffix="_richer")
    table["change"] = table["auc_pr"] - table["auc_pr_richer"]
    table["change_in_se"] = table["change"] / table["se_richer"]
    print(  # noqa: T201
        f"race without halving: {seconds['parameters']:.0f} s with the parameters' "
        f"settings, {seconds['richer']:.0f} s with {RICHER}\n"
        + table.sort_values("auc_pr", ascending=False).round(4).to_string()
        + f"\nlargest loss in standard errors: {table['change_in_se'].min():.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-root", type=Path, default=Path("/tmp/sparkify_benchmark")
    )
    parser.add_argument("--users", type=int, default=225)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild model_input_table first"
    )
    parser.add_argument("--compare-settings", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ["SPARKIFY_DATA_ROOT"] = str(args.data_root)
    bootstrap_project(PROJECT_ROOT)

    if args.rebuild or not (args.data_root / MODEL_INPUT).exists():
        simulation = {"simulation": {"n_users": args.users, "seed": args.seed}}
        seconds = _run(
            simulation, pipeline_names=["demo"], to_outputs=["model_input_table"]
        )
        print(f"model_input_table built from the simulator in {seconds:.0f} s")  # noqa: T201

    if args.compare_settings:
        compare_settings(args.data_root)
        return
    rows = pd.read_parquet(args.data_root / MODEL_INPUT, columns=["user_id", "label"])
    seconds = _run(pipeline_names=["modeling"])
    metrics = pd.read_csv(args.data_root / "08_reporting" / "model_metrics.csv")
    columns = [
        "model",
        "figure",
        "origins_scored",
        "auc_pr",
        "auc_pr_low",
        "auc_pr_high",
    ]
    print(  # noqa: T201
        f"modeling: {seconds:.0f} s on {len(rows)} labelled rows "
        f"({rows['user_id'].nunique()} users, {int(rows['label'].sum())} positives)\n"
        + metrics[columns].round(3).to_string(index=False)
    )


if __name__ == "__main__":
    main()
