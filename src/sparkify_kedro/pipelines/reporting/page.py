"""The report page: one self-contained HTML file per run, for readers of no CSV.

Two steps, two nodes: :func:`assemble_report_page_data` gathers what the page says from
the run's small datasets into one plain dict (numbers, strings, lists; no HTML), and
:func:`render_report_page` turns that dict and the run's plotly figures into the page
(``templates/report_page.html.j2``, Jinja2 with every value escaped; plotly.js inlined
once, so the page opens offline and fetches nothing).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, StrictUndefined

from sparkify_kedro import evaluation

#: The test metrics of the page's table, in its column order (all with intervals).
PAGE_METRICS = ("auc_pr", "auc_roc", "precision", "recall", "f1", "lift_top_decile")
#: The figures of the page, in order: (input name of the render node, caption).
FIGURES = (
    (
        "model_comparison",
        "Test AUC-PR of every candidate with its interval; baselines dashed.",
    ),
    ("roc_pr_curves", "ROC and precision-recall curves of the chosen model (test)."),
    (
        "cumulative_gains",
        "Share of test churners caught against share of users contacted.",
    ),
    ("feature_weights", "What drives the score: the chosen model's largest weights."),
    ("churn_score_distribution", "Churn probabilities of the scored users, by tier."),
    (
        "ceiling_comparison",
        "Expected test AUC-PR of every model against the ceiling (simulated log).",
    ),
)


def _number(value: Any) -> float | None:
    """A finite float, or None for a missing or undefined value (NaN, None)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _metric_rows(
    model_metrics: pd.DataFrame, runner_up: str | None
) -> list[dict[str, Any]]:
    """The chosen model, the runner-up and the baselines with their test metrics."""
    rows = []
    for row in model_metrics.to_dict("records"):
        name = evaluation.model_name(row["feature_set"], row["algorithm"])
        if row["feature_set"] == evaluation.BASELINE:
            role = "baseline"
        elif row.get("chosen"):
            role = "chosen"
        elif name == runner_up:
            role = "runner-up"
        else:
            continue
        rows.append(
            {
                "model": name,
                "role": role,
                "cv_auc_pr": _number(row.get("cv_auc_pr")),
                **{
                    f"{metric}{suffix}": _number(row.get(f"{metric}{suffix}"))
                    for metric in PAGE_METRICS
                    for suffix in ("", "_low", "_high")
                },
            }
        )
    order = {"chosen": 0, "runner-up": 1, "baseline": 2}
    return sorted(rows, key=lambda row: order[row["role"]])


def _ceiling(ceiling_summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ceiling's figures of a simulated log, or None when none was measured."""
    if ceiling_summary is None:
        return None
    return {
        "expected_auc_pr": _number(ceiling_summary["ceiling_expected_auc_pr"]),
        "chosen_model": ceiling_summary.get("chosen_model"),
        "chosen_expected_auc_pr": _number(
            ceiling_summary.get("chosen_expected_auc_pr")
        ),
        "chosen_ratio": _number(ceiling_summary.get("chosen_ratio_to_ceiling")),
        "label_draws": ceiling_summary.get("label_draws"),
        "test_rows": ceiling_summary.get("test_rows"),
    }


def assemble_report_page_data(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    best_model_info: dict[str, Any],
    model_metrics: pd.DataFrame,
    model_comparison: dict[str, Any],
    split_summary: dict[str, Any],
    log_span: dict[str, Any],
    data_quality_report: dict[str, Any],
    risk_summary: dict[str, Any],
    ceiling_summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the report page says, as plain data: the model card and the risk summary.

    - ``data``: the log's window and what data_processing kept, dropped and quarantined
      (with the pages it did not know);
    - ``task``: the churn pages and windows the model was trained with (frozen in
      ``best_model_info``);
    - ``split``: the tuning and test cutoffs with their rows and churners;
    - ``model``: the chosen model, the validation figure that chose it, the runner-up;
    - ``metrics``: the chosen model, the runner-up and the baselines with their test
      metrics and intervals; ``comparisons``: the paired AUC-PR differences;
    - ``ceiling``: the ceiling and the chosen model's ratio to it (a simulated log), or
      None when the run measured none;
    - ``features``: the columns the model reads; ``risk``: ``risk_summary`` as given.
    """
    task = best_model_info.get("churn_task", {})
    definitions = task.get("churn_definitions", {})
    runner_up = best_model_info.get("runner_up") or {}
    chosen_by = best_model_info.get("chosen_by", {})
    columns = best_model_info.get("feature_columns", {})
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
        "split": {
            "tuning_cutoffs": list(split_summary.get("tuning_cutoffs", [])),
            "test_cutoffs": list(split_summary.get("test_cutoffs", [])),
            **{
                key: split_summary.get(key)
                for key in ("n_tuning", "tuning_churners", "n_test", "test_churners")
            },
        },
        "model": {
            "name": best_model_info["name"],
            "algorithm": best_model_info.get("algorithm"),
            "feature_set": best_model_info.get("feature_set"),
            "threshold": _number(best_model_info.get("threshold")),
            "chosen_by_metric": chosen_by.get("metric"),
            "chosen_by_value": _number(chosen_by.get("value")),
            "chosen_on": chosen_by.get("on"),
            "runner_up": runner_up.get("name"),
            "runner_up_value": _number(runner_up.get(chosen_by.get("metric", ""))),
            "beats_baselines": bool(model_comparison.get("best_beats_baselines")),
            "beats_runner_up": bool(model_comparison.get("best_beats_runner_up")),
        },
        "confidence": model_comparison.get("confidence", 0.95),
        "bootstrap_resamples": model_comparison.get("bootstrap_resamples"),
        "metrics": _metric_rows(model_metrics, runner_up.get("name")),
        "comparisons": [
            {
                key: entry.get(key)
                for key in ("comparison", "against", "mean_difference", "low", "high")
            }
            for entry in model_comparison.get("paired_differences", [])
        ],
        "ceiling": _ceiling(ceiling_summary),
        "features": {
            "numeric": list(columns.get("numeric", [])),
            "categorical": list(columns.get("categorical", [])),
        },
        "risk": risk_summary,
    }


def _format_number(value: Any, digits: int = 3) -> str:
    """``0.412`` (``digits`` decimals), ``n/a`` for a missing value."""
    number = _number(value)
    return "n/a" if number is None else f"{number:.{digits}f}"


def _format_share(value: Any, digits: int = 0) -> str:
    """``41 %``, ``n/a`` for a missing value."""
    number = _number(value)
    return "n/a" if number is None else f"{100 * number:.{digits}f} %"


def _environment() -> Environment:
    """Jinja2 with the package's templates, every value escaped, undefined names fatal."""
    environment = Environment(
        loader=PackageLoader("sparkify_kedro.pipelines.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = _format_number
    environment.filters["pct"] = _format_share
    return environment


def _figure_html(figure: go.Figure, name: str, first: bool) -> str:
    """A figure as a ``<div>`` and its script; the first one also carries plotly.js."""
    return figure.to_html(
        full_html=False,
        include_plotlyjs=first,
        div_id=f"figure-{name}",
        config={"displaylogo": False, "responsive": True},
    )


def render_report_page(page: dict[str, Any], **figures: go.Figure) -> str:
    """The page as one HTML document: the model card, the figures, the risk tables.

    ``figures`` are the plotly figures by the names of :data:`FIGURES` (those absent are
    left out); plotly.js is inlined once, before the first, so the page needs no network.
    """
    drawn = [(name, caption) for name, caption in FIGURES if name in figures]
    rendered = [
        {
            "name": name,
            "caption": caption,
            "html": _figure_html(figures[name], name, first=index == 0),
        }
        for index, (name, caption) in enumerate(drawn)
    ]
    template = _environment().get_template("report_page.html.j2")
    return template.render(page=page, figures=rendered, metrics=PAGE_METRICS)
