"""Model quality against the simulator's ceiling: the demo flow at a given size, then its figures.

Runs ``kedro run --pipelines demo`` (simulation, every production stage, the ceiling) on a
fresh data root and prints, from the datasets it wrote: the rolling-origin plan, the chosen
model and the figure that chose it, its pooled test AUC-PR with the bootstrap interval,
the baselines, the paired intervals, and the expected AUC-PR over redrawn futures against
the ceiling. Also writes them as JSON next to the data::

    python benchmarks/model_quality_benchmark.py                  # 225 users, seed 42
    python benchmarks/model_quality_benchmark.py --users 2000     # the issue's measure
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _interval(row: pd.Series, metric: str = "auc_pr") -> str:
    return (
        f"{row[metric]:.3f} [{row[f'{metric}_low']:.3f}, {row[f'{metric}_high']:.3f}]"
    )


def summarise(data_root: Path) -> dict:
    """The figures of a finished demo run under ``data_root``."""
    reporting = data_root / "08_reporting"
    metrics = pd.read_csv(reporting / "model_metrics.csv")
    comparison = json.loads((reporting / "model_comparison.json").read_text())
    ceiling = pd.read_csv(reporting / "ceiling_comparison.csv").set_index("model")
    split = json.loads(
        (data_root / "05_model_input" / "modeling_split_summary.json").read_text()
    )
    chosen = metrics[metrics["chosen"]].iloc[0]
    name = f"{chosen['algorithm']}/{chosen['feature_set']}"
    baselines = metrics[metrics["feature_set"] == "baseline"].set_index("algorithm")
    ceiling_auc = ceiling.loc["ceiling", "expected_auc_pr"]
    return {
        "test_cutoffs": split["test_cutoffs"],
        "test_rows": split["n_test"],
        "test_churners": split["test_churners"],
        "tuning_cutoffs": split["tuning_cutoffs"],
        "chosen": name,
        "chosen_cv_auc_pr": float(chosen["cv_auc_pr"]),
        "chosen_test_auc_pr": _interval(chosen),
        "one_rule_test_auc_pr": _interval(baselines.loc["one_rule"]),
        "base_rate_test_auc_pr": _interval(baselines.loc["always_no_churn"]),
        "paired_differences": {
            entry["comparison"]: (
                f"{entry['mean_difference']:+.3f} [{entry['low']:+.3f}, {entry['high']:+.3f}]"
            )
            for entry in comparison["paired_differences"]
        },
        "best_beats_baselines": comparison["best_beats_baselines"],
        "ceiling_expected_auc_pr": float(ceiling_auc),
        "expected_auc_pr": {
            model: round(float(value), 4)
            for model, value in ceiling["expected_auc_pr"]
            .sort_values(ascending=False)
            .items()
        },
        "chosen_ratio_to_ceiling": float(ceiling.loc[name, "ratio_to_ceiling"]),
        "one_rule_ratio_to_ceiling": float(
            ceiling.loc["baseline/one_rule", "ratio_to_ceiling"]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=225)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args()
    data_root = args.data_root or Path(
        f"/tmp/sparkify_quality_{args.users}_{args.seed}"
    )

    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    shutil.rmtree(data_root, ignore_errors=True)
    os.environ["SPARKIFY_DATA_ROOT"] = str(data_root)
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(
        project_path=PROJECT_ROOT,
        runtime_params={"simulation": {"n_users": args.users, "seed": args.seed}},
    ) as session:
        start = time.perf_counter()
        session.run(pipeline_names=["demo"])
        elapsed = time.perf_counter() - start
    figures = {
        "users": args.users,
        "seed": args.seed,
        "pipeline_seconds": round(elapsed),
        **summarise(data_root),
    }
    (data_root / "model_quality.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
