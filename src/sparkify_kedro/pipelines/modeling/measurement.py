"""Measuring nodes of the ``modeling`` pipeline (plain pandas / numpy), after the choice.

Test metrics of every model and baseline, from their test scores on the rolling-origin test
cutoffs, with bootstrap intervals that resample users and paired differences
(``sparkify_kedro.evaluation``); the chosen model's record and test curve.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from sparkify_kedro import evaluation
from sparkify_kedro.pipelines.modeling.nodes import PREDICTION, SCORE, SELECTION_METRIC
from sparkify_kedro.pipelines.modeling.rolling_origin import CUTOFF, LABEL, USER
from sparkify_kedro.pipelines.modeling.selection import ranked_on_validation

BASELINE = evaluation.BASELINE
#: The test metrics of every model, each with its bootstrap interval.
METRIC_COLUMNS = list(evaluation.BOOTSTRAP_METRICS)


def _aligned(test_scores: pd.DataFrame) -> tuple[pd.DataFrame, dict, dict]:
    """(rows, scores by model, predictions by model): every model's test scores on the
    same (user, cutoff) rows in the same order, models by name. Fails if the models scored
    other rows. Each model's rows are sorted on their own: the whole table (a row per
    model, test cutoff and user) is never copied."""
    groups = test_scores.groupby(["feature_set", "algorithm"], sort=False)
    by_model = sorted(
        [(evaluation.model_name(*key), frame) for key, frame in groups],
        key=lambda named: named[0],
    )
    scores, predictions, rows = {}, {}, None
    for model, frame in by_model:
        ordered = frame.sort_values([CUTOFF, USER], kind="stable")
        keys = ordered[[USER, CUTOFF, LABEL]].reset_index(drop=True)
        if rows is None:
            rows = keys
        elif not rows.equals(keys):
            raise ValueError(f"{model} scored other test rows than the other models.")
        scores[model] = ordered[SCORE].to_numpy(dtype=float)
        predictions[model] = ordered[PREDICTION].to_numpy(dtype=int)
    return rows, scores, predictions


def _metrics_with_intervals(
    rows: pd.DataFrame,
    scores: dict[str, np.ndarray],
    predictions: dict[str, np.ndarray],
    evaluation_params: dict[str, Any],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, np.ndarray]]]:
    """Point metrics and bootstrap intervals (users resampled) of every model on ``rows``,
    and the bootstrap draws (paired across models)."""
    labels = rows[LABEL].to_numpy(dtype=int)
    users = pd.factorize(rows[USER])[0]
    draws = evaluation.bootstrap_metrics(
        labels,
        scores,
        predictions,
        users,
        evaluation_params["bootstrap_resamples"],
        evaluation_params["seed"],
        METRIC_COLUMNS,
    )
    figures = {}
    for model, model_scores in scores.items():
        point = evaluation.evaluate_scores(labels, model_scores, predictions[model])
        for metric in METRIC_COLUMNS:
            low, high = evaluation.percentile_interval(
                draws[model][metric], evaluation_params["confidence"]
            )
            point[f"{metric}_low"], point[f"{metric}_high"] = low, high
        figures[model] = point
    return figures, draws


def _metric_row(model: str, figures: dict[str, float]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for metric in METRIC_COLUMNS:
        row[metric] = figures[metric]
        row[f"{metric}_low"] = figures[f"{metric}_low"]
        row[f"{metric}_high"] = figures[f"{metric}_high"]
    row["n_test"], row["test_churners"] = figures["n_rows"], figures["n_churners"]
    return row


def evaluate_models(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    test_scores: pd.DataFrame,
    model_results: dict[str, list[dict[str, Any]]],
    baseline_results: list[dict[str, Any]],
    best_model_choice: dict[str, Any],
    split_summary: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Test metrics of every model and baseline, with bootstrap intervals, after the choice.

    The test rows are every rolling-origin test cutoff's rows. Intervals resample users
    (a user's rows at every test cutoff go together), ``bootstrap_resamples`` times, at
    ``confidence``; every model is scored on the same resamples, so differences are paired.

    Returns:
    - ``model_metrics``: one row per model and baseline, pooled over the test cutoffs:
      the figure that chose it (``selected_by``, ``cv_auc_pr``, ``validation_rank``;
      ``chosen`` marks the best), each metric with ``_low``/``_high``, the threshold;
    - ``rolling_origin_metrics``: the same metrics per test cutoff and pooled;
    - ``model_comparison``: paired AUC-PR differences best - runner-up and best - each
      baseline; ``best_beats_baselines`` only when every baseline's interval is above 0;
    - ``best_model_info``: the choice, then its pooled test metrics with intervals, the
      test cutoffs and ``best_beats_baselines``.
    """
    rows, scores, predictions = _aligned(test_scores)
    pooled, draws = _metrics_with_intervals(
        rows, scores, predictions, evaluation_params
    )
    per_cutoff_rows = []
    for cutoff in sorted(rows[CUTOFF].unique()):
        mask = (rows[CUTOFF] == cutoff).to_numpy()
        figures, _ = _metrics_with_intervals(
            rows[mask].reset_index(drop=True),
            {model: values[mask] for model, values in scores.items()},
            {model: values[mask] for model, values in predictions.items()},
            evaluation_params,
        )
        per_cutoff_rows += [
            {
                "model": model,
                "test_cutoff": pd.Timestamp(cutoff).isoformat(),
                **_metric_row(model, f),
            }
            for model, f in figures.items()
        ]
    per_cutoff_rows += [
        {"model": model, "test_cutoff": "pooled", **_metric_row(model, f)}
        for model, f in pooled.items()
    ]
    ranked = ranked_on_validation(model_results)
    described = [
        *[
            {
                "feature_set": result["feature_set"],
                "algorithm": result["algorithm"],
                "selected_by": f"{SELECTION_METRIC} (cross-validation on the tuning cutoffs)",
                SELECTION_METRIC: result[SELECTION_METRIC],
                "validation_rank": rank,
                "threshold": result["threshold"],
                "params": json.dumps(result["estimator_params"], sort_keys=True),
            }
            for rank, result in enumerate(ranked, start=1)
        ],
        *[
            {
                "feature_set": BASELINE,
                "algorithm": baseline["algorithm"],
                "selected_by": "none (a fixed rule, no learning)",
                SELECTION_METRIC: None,
                "validation_rank": None,
                "threshold": baseline["threshold"],
                "params": json.dumps(baseline["estimator_params"], sort_keys=True),
            }
            for baseline in baseline_results
        ],
    ]
    table = []
    for entry in described:
        name = evaluation.model_name(entry["feature_set"], entry["algorithm"])
        table.append(
            {
                "feature_set": entry["feature_set"],
                "algorithm": entry["algorithm"],
                "chosen": name == best_model_choice["name"],
                "selected_by": entry["selected_by"],
                SELECTION_METRIC: entry[SELECTION_METRIC],
                "validation_rank": entry["validation_rank"],
                **_metric_row(name, pooled[name]),
                "threshold": entry["threshold"],
                "params": entry["params"],
            }
        )
    best = best_model_choice["name"]
    runner_up = best_model_choice["runner_up"]
    comparisons = [
        *([("runner_up", runner_up["name"])] if runner_up else []),
        *[
            ("baseline", evaluation.model_name(BASELINE, b["algorithm"]))
            for b in baseline_results
        ],
    ]
    paired = [
        {
            "comparison": f"{best} - {other}",
            "against": kind,
            "other": other,
            "metric": "auc_pr",
            **evaluation.paired_difference_interval(
                draws[best]["auc_pr"],
                draws[other]["auc_pr"],
                evaluation_params["confidence"],
            ),
        }
        for kind, other in comparisons
    ]
    against_baselines = [entry for entry in paired if entry["against"] == "baseline"]
    comparison = {
        "metric": "auc_pr",
        "confidence": evaluation_params["confidence"],
        "bootstrap_resamples": evaluation_params["bootstrap_resamples"],
        "resampled": "users (all of a user's test rows together)",
        "best_model": best,
        "chosen_by": best_model_choice["chosen_by"],
        "runner_up": runner_up["name"] if runner_up else None,
        "paired_differences": paired,
        "best_beats_runner_up": bool(runner_up) and bool(paired[0]["low"] > 0),
        "best_beats_baselines": all(entry["low"] > 0 for entry in against_baselines),
    }
    model_metrics = pd.DataFrame(table)
    return (
        model_metrics,
        pd.DataFrame(per_cutoff_rows),
        comparison,
        _describe_best_model(
            best_model_choice, model_metrics, comparison, split_summary
        ),
    )


def _describe_best_model(
    best_model_choice: dict[str, Any],
    model_metrics: pd.DataFrame,
    model_comparison: dict[str, Any],
    split_summary: dict[str, Any],
) -> dict[str, Any]:
    """``best_model_info``: the choice, then its pooled test metrics with intervals
    (computed after the choice), the test cutoffs and whether it beats the baselines."""
    (row,) = model_metrics[model_metrics["chosen"]].to_dict("records")
    metrics = {
        key: row[key]
        for metric in METRIC_COLUMNS
        for key in (metric, f"{metric}_low", f"{metric}_high")
    }
    return {
        **best_model_choice,
        "test_cutoffs": split_summary["test_cutoffs"],
        "test_metrics": {
            **metrics,
            "n_rows": row["n_test"],
            "n_churners": row["test_churners"],
        },
        "best_beats_baselines": model_comparison["best_beats_baselines"],
    }


def build_best_model_test_curve(
    test_scores: pd.DataFrame, best_model_choice: dict[str, Any], test_curve_points: int
) -> pd.DataFrame:
    """The chosen model's ranking curve on its test rows (every test cutoff pooled).

    Scores are rounded down to multiples of ``1 / test_curve_points``: at most
    ``test_curve_points + 1`` thresholds after the starting row, whatever the number of
    users (columns of :func:`sparkify_kedro.evaluation.ranking_curve`).
    """
    chosen = test_scores[
        (test_scores["feature_set"] == best_model_choice["feature_set"])
        & (test_scores["algorithm"] == best_model_choice["algorithm"])
    ]
    return evaluation.ranking_curve(
        chosen[LABEL].to_numpy(), chosen[SCORE].to_numpy(), test_curve_points
    )


def summarise_model_metrics(
    model_metrics: pd.DataFrame,
    split_summary: dict[str, Any],
    model_comparison: dict[str, Any],
) -> dict[str, Any]:
    """The metrics table as JSON, with the rolling-origin plan and the paired comparison."""
    return {
        "primary_metric": "auc_pr",
        "split": split_summary,
        **model_comparison,
        "models": json.loads(model_metrics.to_json(orient="records")),
    }
