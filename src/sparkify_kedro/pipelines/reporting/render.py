"""The run's HTML pages, each one self-contained: Jinja2 templates (``templates/``) with
every value escaped; plotly.js inlined once, so a page opens offline and fetches nothing.

- :func:`render_report_page` (``reporting``): the dict of ``page.py`` and the run's plotly
  figures as the report page: model card, figures, risk tables, every scored user.
- :func:`render_inference_page` (the ``inference`` flow, ``pipeline_registry.py``): what
  ``kedro run --pipelines inference`` found: the new log's span and data quality, how far
  its features moved from the model's training rows (``sparkify_kedro.drift``, a warning
  box when features drifted) and every scored user.
Both list the users in the searchable table of ``templates/users_table.html.j2``.
"""

from __future__ import annotations

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


def _format_number(value: Any, digits: int = 3) -> str:
    """``0.412`` (``digits`` decimals), ``n/a`` for a missing value."""
    number = number_or_none(value)
    return "n/a" if number is None else f"{number:.{digits}f}"


def _format_difference(value: Any, digits: int = 3) -> str:
    """``+0.041`` (signed, ``digits`` decimals), ``n/a`` for a missing value."""
    number = number_or_none(value)
    return "n/a" if number is None else f"{number:+.{digits}f}"


def _format_share(value: Any, digits: int = 0) -> str:
    """``41 %``, ``n/a`` for a missing value."""
    number = number_or_none(value)
    return "n/a" if number is None else f"{100 * number:.{digits}f} %"


def _format_money(value: Any) -> str:
    """``12,345.67`` (two decimals, thousands separated), ``n/a`` for a missing value."""
    number = number_or_none(value)
    return "n/a" if number is None else f"{number:,.2f}"


def template_environment() -> Environment:
    """Jinja2 with the package's templates, every value escaped, undefined names fatal.

    Shared with the other pages of the package (the inference page), so that they can
    import ``users_table.html.j2`` and use the filters ``num``, ``pct``, ``diff`` and
    ``money``.
    """
    environment = Environment(
        loader=PackageLoader("sparkify_kedro.pipelines.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = _format_number
    environment.filters["pct"] = _format_share
    environment.filters["diff"] = _format_difference
    environment.filters["money"] = _format_money
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
