"""The inference page: a new log scored by the saved model, on one self-contained HTML file.

:func:`render_inference_page` (a node of the ``inference`` flow, pipeline_registry.py) puts
on one page what ``kedro run --pipelines inference`` found: the new log's span and data
quality, how far its features moved from the model's training rows (the drift report of
``sparkify_kedro.drift``, with a warning box when features drifted) and every scored user
in the searchable table of ``templates/users_table.html.j2``. Jinja2 with every value
escaped (``templates/inference_page.html.j2``); nothing is fetched, the page opens offline.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame

from sparkify_kedro.pipelines.reporting.page import template_environment
from sparkify_kedro.pipelines.reporting.tables import list_scored_users


def _data_quality(report: dict[str, Any]) -> dict[str, Any]:
    """What the page says of the new log's cleaning (``data_quality_report``)."""
    return {
        "input_files": [entry["file"] for entry in report["input_files"]],
        "lines_read": report["lines_read"],
        "rows_kept": report["rows_kept"],
        "rows_dropped_by_reason": report["rows_dropped_by_reason"],
        "lines_quarantined": report["lines_quarantined"],
        "lines_quarantined_by_reason": report["lines_quarantined_by_reason"],
        "books_balance": report["books_balance"],
        "distinct_users": report["distinct_users"],
        "first_event_time": report["first_event_time"],
        "last_event_time": report["last_event_time"],
        "unknown_page_rows": report["unknown_page_rows"],
    }


def render_inference_page(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    log_span: dict[str, Any],
    data_quality_report: dict[str, Any],
    drift_report: dict[str, Any],
    churn_scores: DataFrame,
    best_model_info: dict[str, Any],
    revenue: dict[str, Any],
) -> str:
    """The new log's scores as one HTML page: the log's span and data quality, the drift
    table (a warning box when ``drift_report`` names drifted features, a plain line
    otherwise), the share of users the training rows never held, and every scored user
    (one collect of one row per user, rank order; money in ``revenue["currency"]``)."""
    page = {
        "model_name": best_model_info["name"],
        "log_span": log_span,
        "data_quality": _data_quality(data_quality_report),
        "drift": drift_report,
        "users": list_scored_users(churn_scores),
        "currency": revenue["currency"],
    }
    template = template_environment().get_template("inference_page.html.j2")
    return template.render(page=page)
