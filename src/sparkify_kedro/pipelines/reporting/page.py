"""What the report page says: :func:`assemble_report_page_data` gathers it from the run's
small datasets into one plain dict (numbers, strings, lists; no HTML), which
``render.py`` turns into the page.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from sparkify_kedro import evaluation

#: The metrics of the page's tables, in their column order (all with intervals).
PAGE_METRICS = ("auc_pr", "auc_roc", "precision", "recall", "f1", "lift_top_decile")
#: ``model_metrics.figure``: the procedure and the baselines on the test cutoffs, every
#: candidate on the origins it scored (what the choice looked at).
TEST, VALIDATION = "test", "validation"
#: The baselines in plain words, by their ``algorithm`` in ``model_metrics``.
BASELINE_NAMES = {
    "one_rule": "the one-line rule",
    "always_no_churn": "the base rate",
}
#: ``model_metrics.model`` of the choosing procedure's row.
PROCEDURE = "procedure"
#: The figures of ``ceiling_summary`` the page shows, by their name on the page: the
#: ceiling, the procedure and the rule on the test rows; the deployed candidate on the
#: validation rows (every origin). A figure the summary lacks reads as missing.
CEILING_FIGURES = {
    "label_draws": "label_draws",
    "test_rows": "test_rows",
    "expected_auc_pr": "ceiling_expected_auc_pr",
    "procedure_expected_auc_pr": "procedure_expected_auc_pr",
    "procedure_ratio": "procedure_ratio_to_ceiling",
    "rule_expected_auc_pr": "rule_expected_auc_pr",
    "rule_ratio": "rule_ratio_to_ceiling",
    "procedure_minus_rule": "procedure_minus_rule_expected_auc_pr",
    "procedure_minus_rule_se": "procedure_minus_rule_expected_auc_pr_se",
    "validation_rows": "validation_rows",
    "validation_expected_auc_pr": "validation_ceiling_expected_auc_pr",
    "deployed_model": "deployed_model",
    "deployed_expected_auc_pr": "deployed_validation_expected_auc_pr",
    "deployed_ratio": "deployed_validation_ratio_to_ceiling",
}


def number_or_none(value: Any) -> float | None:
    """A finite float, or None for a missing or undefined value (NaN, None)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _with_intervals(row: dict[str, Any]) -> dict[str, float | None]:
    """The page's metrics of a ``model_metrics`` row, each with its interval bounds."""
    return {
        f"{metric}{suffix}": number_or_none(row.get(f"{metric}{suffix}"))
        for metric in PAGE_METRICS
        for suffix in ("", "_low", "_high")
    }


def _count(value: Any) -> int | None:
    """An integer count, or None for a missing one (an empty CSV cell reads as NaN)."""
    number = number_or_none(value)
    return None if number is None else int(number)


def _test_rows(model_metrics: pd.DataFrame) -> list[dict[str, Any]]:
    """The procedure and the baselines on the test rows (their order in the table: the
    procedure first), each named in plain words, with their metrics and intervals."""
    rows = model_metrics[model_metrics["figure"] == TEST]
    return [
        {
            "model": row["model"],
            "name": "the choosing procedure"
            if row["model"] == PROCEDURE
            else BASELINE_NAMES.get(row["algorithm"], row["model"]),
            "n_rows": _count(row.get("n_rows")),
            "churners": _count(row.get("churners")),
            **_with_intervals(row),
        }
        for row in rows.to_dict("records")
    ]


def _validation_rows(model_metrics: pd.DataFrame) -> list[dict[str, Any]]:
    """Every candidate's validation figures (the origins it scored, pooled), best rank
    first, with its ``role`` (``deployed``, ``baseline``, ``candidate``) and threshold."""
    rows = model_metrics[model_metrics["figure"] == VALIDATION]
    return [
        {
            "model": row["model"],
            "role": "deployed"
            if row.get("chosen")
            else "baseline"
            if row["feature_set"] == evaluation.BASELINE
            else "candidate",
            "validation_rank": _count(row["validation_rank"]),
            "origins_scored": _count(row["origins_scored"]),
            "threshold": number_or_none(row.get("threshold")),
            **_with_intervals(row),
        }
        for row in rows.sort_values("validation_rank").to_dict("records")
    ]


def _paired_on_test(
    model_comparison: dict[str, Any], names: dict[str, str]
) -> list[dict[str, Any]]:
    """The procedure's paired AUC-PR differences with each baseline on the test rows,
    each baseline named by ``names`` (model -> plain words); ``beats``: the interval
    lies above 0."""
    return [
        {
            "name": names.get(entry["other"], entry["other"]),
            **{
                key: number_or_none(entry.get(key))
                for key in ("mean_difference", "low", "high")
            },
            "beats": (number_or_none(entry.get("low")) or 0.0) > 0,
        }
        for entry in model_comparison.get("paired_differences", [])
        if entry.get("figure") == TEST
    ]


def _origins(
    split_summary: dict[str, Any], picks: dict[str, str]
) -> list[dict[str, Any]]:
    """Every origin: its rows and churners, what it was trained on, and the candidate the
    procedure picked for it from the earlier origins (none at the first origin)."""
    return [
        {
            **{
                key: origin.get(key)
                for key in ("cutoff", "n_train", "train_churners", "n_rows", "churners")
            },
            "test": origin["cutoff"] in picks,
            "picked": picks.get(origin["cutoff"]),
        }
        for origin in split_summary.get("origins", [])
    ]


def _deployed(best_model_info: dict[str, Any]) -> dict[str, Any]:
    """The deployed candidate, its kind (classifier, rule, base rate) and why it won."""
    chosen_by = best_model_info.get("chosen_by", {})
    return {
        "name": best_model_info["name"],
        "kind": best_model_info.get("kind"),
        "algorithm": best_model_info.get("algorithm"),
        "feature_set": best_model_info.get("feature_set"),
        "threshold": number_or_none(best_model_info.get("threshold")),
        "metric": chosen_by.get("metric"),
        "value": number_or_none(chosen_by.get("value")),
        "on": chosen_by.get("on"),
        "best_on_validation": chosen_by.get("best_on_validation"),
        "best_value": number_or_none(chosen_by.get("best_value")),
        "tied_with_best": list(chosen_by.get("tied_with_best", [])),
        "candidates_compared": len(chosen_by.get("candidates_compared", [])),
        "reason": chosen_by.get("reason"),
    }


def _calibration(
    probability_calibration: dict[str, Any] | None,
    ceiling_summary: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """How well the deployed model's probabilities match churn (None when the run
    calibrated nothing and measured no ceiling): the calibration step's ``method``,
    ``input`` and plain ``fitted_on`` figures; its expected calibration error against the
    test labels and, on a simulated log, against the simulator's probabilities (also the
    deployed map's and a perfect ranking's); ``reliability``: the ceiling's table when
    there is one (``reliability_vs_simulator``), else the test rows'.
    """
    if probability_calibration is None and ceiling_summary is None:
        return None
    calibration = probability_calibration or {}
    test = calibration.get("test") or {}
    ceiling = ceiling_summary or {}
    vs_simulator = ceiling.get("calibration_reliability_vs_simulator")
    rows = vs_simulator if vs_simulator else test.get("reliability") or []
    return {
        "method": calibration.get("method"),
        "input": calibration.get("input"),
        "fitted_on": {
            key: value
            for key, value in (calibration.get("fitted_on") or {}).items()
            if isinstance(value, str | int | float)
        },
        "ece_vs_labels": number_or_none(test.get("expected_calibration_error")),
        "ece_vs_simulator": number_or_none(
            ceiling.get("calibration_error_vs_simulator")
        ),
        "deployed_ece_vs_simulator": number_or_none(
            ceiling.get("deployed_calibration_error_vs_simulator")
        ),
        "perfect_ranking_ece_vs_simulator": number_or_none(
            ceiling.get("perfect_ranking_calibration_error_vs_simulator")
        ),
        "reliability_vs_simulator": bool(vs_simulator),
        "reliability": [
            {
                "bin": row.get("bin"),
                "n": _count(row.get("n")),
                **{
                    key: number_or_none(row.get(key))
                    for key in (
                        "mean_predicted",
                        "observed_rate",
                        "simulator_probability",
                    )
                },
            }
            for row in rows
        ],
    }


def assemble_report_page_data(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    best_model_info: dict[str, Any],
    model_metrics: pd.DataFrame,
    model_comparison: dict[str, Any],
    split_summary: dict[str, Any],
    log_span: dict[str, Any],
    data_quality_report: dict[str, Any],
    risk_summary: dict[str, Any],
    probability_calibration: dict[str, Any] | None = None,
    ceiling_summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the report page says, as plain data: the model card and the risk summary.

    ``data`` (the log's window, what data_processing kept, dropped and quarantined),
    ``task`` (the churn pages and windows trained with), ``origins`` (rows, churners,
    training rows and the procedure's pick of each), ``test`` (the procedure and the
    baselines with intervals), ``paired_on_test`` and the verdicts on them,
    ``procedure_single_pick`` (its pick if it never changed), ``deployed`` (the deployed
    candidate and why), ``validation`` (every candidate, best rank first), ``ceiling``
    (:data:`CEILING_FIGURES`, None without one), ``calibration``, ``features`` (the
    columns the model reads) and ``risk`` (``risk_summary`` as given).
    """
    task = best_model_info.get("churn_task", {})
    definitions = task.get("churn_definitions", {})
    columns = best_model_info.get("feature_columns", {})
    picks = model_comparison.get("procedure_picks", {})
    picked = set(picks.values())
    test = _test_rows(model_metrics)
    return {
        "model_name": best_model_info["name"],
        "data": {
            "log_start": log_span.get("log_start"),
            "log_end": log_span.get("log_end"),
            "log_end_rule": log_span.get("rule"),
            **{
                key: data_quality_report.get(key)
                for key in (
                    "lines_read",
                    "rows_kept",
                    "rows_dropped",
                    "lines_quarantined",
                    "distinct_users",
                    "first_event_time",
                    "last_event_time",
                    "books_balance",
                )
            },
            "unknown_pages": dict(data_quality_report.get("unknown_pages") or {}),
        },
        "task": {
            "mode": task.get("mode"),
            "churn_pages": list(definitions.get(task.get("churn_definition"), [])),
            **{
                key: task.get(key)
                for key in ("observation_days", "horizon_days", "stride_days")
            },
        },
        "origins": _origins(split_summary, picks),
        "first_origin_note": model_comparison.get("first_origin_note"),
        "confidence": model_comparison.get("confidence", 0.95),
        "bootstrap_resamples": model_comparison.get("bootstrap_resamples"),
        "test": test,
        "paired_on_test": _paired_on_test(
            model_comparison, {row["model"]: row["name"] for row in test}
        ),
        "procedure_beats_rule": bool(model_comparison.get("procedure_beats_rule")),
        "procedure_beats_baselines": bool(
            model_comparison.get("procedure_beats_baselines")
        ),
        "procedure_single_pick": picked.pop() if len(picked) == 1 else None,
        "deployed": _deployed(best_model_info),
        "validation": _validation_rows(model_metrics),
        "ceiling": None
        if ceiling_summary is None
        else {name: ceiling_summary.get(key) for name, key in CEILING_FIGURES.items()},
        "calibration": _calibration(probability_calibration, ceiling_summary),
        "features": {
            "numeric": list(columns.get("numeric", [])),
            "categorical": list(columns.get("categorical", [])),
        },
        "risk": risk_summary,
    }
