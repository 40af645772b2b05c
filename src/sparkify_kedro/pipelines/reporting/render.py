"""The run's HTML pages, each self-contained (Jinja2 templates in ``templates/``, every
value escaped, plotly.js inlined once): the report page (:func:`render_report_page`) and
the inference page (:func:`render_inference_page`), both listing the users in the
searchable table of ``templates/users_table.html.j2``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, StrictUndefined
from pyspark.sql import DataFrame

from sparkify_kedro.pipelines.reporting.page import PAGE_METRICS, number_or_none
from sparkify_kedro.pipelines.reporting.tables import list_scored_users

#: The figures of the page, in order: (input name of the render node, caption).
FIGURES = (
    (
        "model_comparison",
        "AUC-PR with its interval: every candidate on its validation origins (what "
        "the choice looked at), the procedure and the baselines on the test cutoffs.",
    ),
    (
        "roc_pr_curves",
        "ROC and precision-recall curves of the choosing procedure (test cutoffs).",
    ),
    (
        "cumulative_gains",
        "Share of test churners the procedure catches against share of users contacted.",
    ),
    ("feature_weights", "What drives the score: the deployed model's weights."),
    ("churn_score_distribution", "Churn probabilities of the scored users, by tier."),
    (
        "ceiling_comparison",
        "Expected AUC-PR over redrawn futures against the ceiling (simulated log): "
        "the procedure and the baselines on the test rows, every candidate on the "
        "validation rows.",
    ),
)


def _filter(text: Callable[[float, int], str], digits: int) -> Callable[..., str]:
    """A Jinja2 filter: ``text(number, digits)``, ``n/a`` for a missing value."""

    def format_value(value: Any, digits: int = digits) -> str:
        number = number_or_none(value)
        return "n/a" if number is None else text(number, digits)

    return format_value


def template_environment() -> Environment:
    """Jinja2 with the package's templates, every value escaped, undefined names fatal,
    and the filters ``num`` (``0.412``), ``diff`` (``+0.041``), ``pct`` (``41 %``) and
    ``money`` (``12,345.67``); shared with the inference page."""
    environment = Environment(
        loader=PackageLoader("sparkify_kedro.pipelines.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        num=_filter(lambda number, digits: f"{number:.{digits}f}", 3),
        diff=_filter(lambda number, digits: f"{number:+.{digits}f}", 3),
        pct=_filter(lambda number, digits: f"{100 * number:.{digits}f} %", 0),
        money=_filter(lambda number, digits: f"{number:,.{digits}f}", 2),
    )
    return environment


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
            "html": figures[name].to_html(
                full_html=False,
                include_plotlyjs=index == 0,
                div_id=f"figure-{name}",
                config={"displaylogo": False, "responsive": True},
            ),
        }
        for index, (name, caption) in enumerate(drawn)
    ]
    template = template_environment().get_template("report_page.html.j2")
    return template.render(page=page, figures=rendered, metrics=PAGE_METRICS)


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
        "data_quality": data_quality_report,
        "drift": drift_report,
        "users": list_scored_users(churn_scores),
        "currency": revenue["currency"],
    }
    template = template_environment().get_template("inference_page.html.j2")
    return template.render(page=page)
