"""Figures of the ``reporting`` pipeline: plotly figures of small pandas tables
(``tables.py`` or the modeling outputs), saved as JSON for kedro-viz and the page."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sparkify_kedro.pipelines.reporting.tables import CHURNERS, OTHERS

_COLOURS = {CHURNERS: "#d62728", OTHERS: "#1f77b4"}


def plot_churn_rate_by_segment(churn_by_segment: pd.DataFrame) -> go.Figure:
    """One bar chart per segment: churn rate per value, row counts in the hover."""
    segments = list(dict.fromkeys(churn_by_segment["segment"]))
    figure = make_subplots(rows=1, cols=len(segments), subplot_titles=segments)
    for index, segment in enumerate(segments, start=1):
        rows = churn_by_segment[churn_by_segment["segment"] == segment]
        figure.add_trace(
            go.Bar(
                x=rows["value"],
                y=rows["churn_rate"],
                customdata=rows[["rows", "churners"]],
                hovertemplate="%{x}: %{y:.1%} (%{customdata[1]} of %{customdata[0]})",
                name=segment,
                showlegend=False,
            ),
            row=1,
            col=index,
        )
    figure.update_yaxes(tickformat=".0%")
    figure.update_yaxes(title_text="churn rate (labelled rows)", row=1, col=1)
    figure.update_layout(title="Churn rate by segment")
    return figure


def plot_feature_distributions(histograms: pd.DataFrame) -> go.Figure:
    """One panel per feature: the share of churners and of others in each bin, overlaid."""
    features = list(dict.fromkeys(histograms["feature"]))
    columns = 2
    rows = max(1, math.ceil(len(features) / columns))
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=features or None)
    for index, feature in enumerate(features):
        for group in (OTHERS, CHURNERS):
            part = histograms[
                (histograms["feature"] == feature) & (histograms["group"] == group)
            ]
            figure.add_trace(
                go.Bar(
                    x=(part["bin_start"] + part["bin_end"]) / 2,
                    y=part["share"],
                    width=part["bin_end"] - part["bin_start"],
                    name=group,
                    legendgroup=group,
                    showlegend=index == 0,
                    marker_color=_COLOURS[group],
                    opacity=0.6,
                ),
                row=index // columns + 1,
                col=index % columns + 1,
            )
    figure.update_yaxes(tickformat=".0%")
    figure.update_layout(
        barmode="overlay",
        height=300 * rows,
        title="Strongest features: churners vs others (share of rows per bin)",
    )
    return figure


#: ``model_metrics.figure`` of the procedure's and the baselines' rows (the test cutoffs)
#: and of every candidate's (the origins it scored).
TEST, VALIDATION = "test", "validation"
#: The choosing procedure (``modeling``): its test scores draw the ROC, PR and gains.
PROCEDURE_NAME = "choosing procedure"


#: The groups of the model comparison, in legend order, with their colours.
_COMPARISON_GROUPS = {
    "test: procedure and baselines": "#2ca02c",
    "validation: deployed": "#d62728",
    "validation: every origin": "#1f77b4",
    "validation: halved away": "#aaaaaa",
}


def _comparison_group(row: Any, most_origins: int) -> str:
    """The figure's group of a ``model_metrics`` row (a key of ``_COMPARISON_GROUPS``):
    a test row, the deployed candidate, a candidate that scored every origin, or one
    halved away (fewer origins: a figure on fewer rows)."""
    if row.figure == TEST:
        return "test: procedure and baselines"
    if row.chosen:
        return "validation: deployed"
    if row.origins_scored == most_origins:
        return "validation: every origin"
    return "validation: halved away"


def _comparison_rows(model_metrics: pd.DataFrame) -> pd.DataFrame:
    """``model_metrics`` top to bottom as the figure draws it: the test rows (procedure,
    baselines; their ``label`` ends in ``(test)``), then the validation rows best rank
    first; each with its ``group``."""
    test = model_metrics[model_metrics["figure"] == TEST]
    validation = model_metrics[model_metrics["figure"] == VALIDATION]
    rows = pd.concat(
        [
            test.assign(label=test["model"] + " (test)"),
            validation.sort_values("validation_rank").assign(label=validation["model"]),
        ],
        ignore_index=True,
    )
    most_origins = validation["origins_scored"].max()
    return rows.assign(
        group=[_comparison_group(row, most_origins) for row in rows.itertuples()]
    )


def plot_model_comparison(model_metrics: pd.DataFrame) -> go.Figure:
    """AUC-PR of every row of ``model_metrics`` as a point with its bootstrap interval,
    one line per row: the test figures (procedure, baselines) on top, then every
    candidate's validation figure best rank first, each group in its own colour."""
    rows = _comparison_rows(model_metrics)
    figure = go.Figure(
        [
            go.Scatter(
                x=group["auc_pr"],
                y=group["label"],
                mode="markers",
                name=name,
                marker={
                    "color": colour,
                    "symbol": "diamond" if name.startswith(TEST) else "circle",
                    "size": 9,
                },
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": group["auc_pr_high"] - group["auc_pr"],
                    "arrayminus": group["auc_pr"] - group["auc_pr_low"],
                },
                customdata=[
                    [
                        f"{row.auc_pr:.3f} [{row.auc_pr_low:.3f}, {row.auc_pr_high:.3f}]",
                        row.origins_scored,
                    ]
                    for row in group.itertuples()
                ],
                hovertemplate="%{y}: AUC-PR %{customdata[0]}, "
                "%{customdata[1]} origins<extra></extra>",
            )
            for name, colour in _COMPARISON_GROUPS.items()
            if len(group := rows[rows["group"] == name])
        ]
    )
    figure.update_layout(
        title="AUC-PR with 95 % bootstrap intervals (users resampled): the procedure "
        "and the baselines on the test cutoffs; every candidate on its validation origins",
        xaxis={"title": "AUC-PR", "range": [0, 1]},
        yaxis={
            "categoryorder": "array",
            "categoryarray": list(rows["label"]),
            "autorange": "reversed",
        },
        legend_title="figure",
        height=max(400, 22 * len(rows) + 180),
    )
    return figure


def _test_metric(best_model_info: dict[str, Any], name: str) -> str:
    """A test metric of the choosing procedure (``best_model_info["test_metrics"]``)
    with its interval, formatted for a title."""
    metrics = best_model_info["test_metrics"]
    value = metrics.get(name)
    if value is None or math.isnan(value):
        return "n/a"
    low, high = metrics.get(f"{name}_low"), metrics.get(f"{name}_high")
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _churn_rate(curve: pd.DataFrame) -> float:
    """The overall churn rate of the rows behind a ranking curve."""
    last = curve.iloc[-1]
    return last["churners_selected"] / last["selected"] if last["selected"] else 0.0


def plot_roc_pr_curves(
    curve: pd.DataFrame, best_model_info: dict[str, Any]
) -> go.Figure:
    """ROC and precision-recall curves of the choosing procedure on its test rows.

    ``curve`` is the procedure's ranking curve on the test cutoffs pooled
    (``best_model_test_curve``, one row per score threshold, computed by ``modeling``);
    ``best_model_info["test_metrics"]`` holds its AUCs with their intervals.
    """
    roc = f"ROC (AUC {_test_metric(best_model_info, 'auc_roc')})"
    pr = f"Precision-recall (AUC-PR {_test_metric(best_model_info, 'auc_pr')})"
    figure = make_subplots(rows=1, cols=2, subplot_titles=[roc, pr])
    figure.add_trace(
        go.Scatter(
            x=curve["false_positive_rate"],
            y=curve["true_positive_rate"],
            mode="lines",
            name=PROCEDURE_NAME,
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", line_dash="dash", name="random ranking"
        ),
        row=1,
        col=1,
    )
    selected = curve[curve["selected"] > 0]
    figure.add_trace(
        go.Scatter(
            x=selected["true_positive_rate"],
            y=selected["precision"],
            mode="lines",
            name=f"{PROCEDURE_NAME} (PR)",
        ),
        row=1,
        col=2,
    )
    figure.add_hline(
        y=_churn_rate(curve), line_dash="dash", line_color="grey", row=1, col=2
    )
    figure.update_xaxes(title_text="false positive rate", range=[0, 1], row=1, col=1)
    figure.update_yaxes(title_text="true positive rate", range=[0, 1], row=1, col=1)
    figure.update_xaxes(title_text="recall", range=[0, 1], row=1, col=2)
    figure.update_yaxes(title_text="precision", range=[0, 1.02], row=1, col=2)
    figure.update_layout(
        title=f"The {PROCEDURE_NAME} on its test rows (every test cutoff pooled)"
    )
    return figure


def plot_cumulative_gains(curve: pd.DataFrame) -> go.Figure:
    """Share of churners caught against share of rows contacted, best scores first:
    the choosing procedure's test rows beside a perfect ranking (every churner first)
    and a random one."""
    rate = _churn_rate(curve)
    figure = go.Figure(
        [
            go.Scatter(
                x=curve["share_selected"],
                y=curve["true_positive_rate"],
                customdata=curve[["lift"]],
                hovertemplate="top %{x:.0%}: %{y:.0%} of churners, lift %{customdata[0]:.2f}",
                mode="lines",
                name=PROCEDURE_NAME,
            ),
            go.Scatter(
                x=curve["share_selected"],
                y=(curve["share_selected"] / rate).clip(upper=1.0)
                if rate
                else curve["share_selected"] * 0,
                mode="lines",
                line_dash="dot",
                name="perfect ranking",
            ),
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line_dash="dash",
                name="random ranking",
            ),
        ]
    )
    figure.update_layout(
        title=f"Cumulative gains of the {PROCEDURE_NAME} on its test rows",
        xaxis={
            "title": "share of rows contacted (highest score first)",
            "tickformat": ".0%",
        },
        yaxis={"title": "share of churners caught", "tickformat": ".0%"},
    )
    return figure


def plot_feature_weights(
    model_feature_weights: pd.DataFrame, best_model_info: dict[str, Any], top_n: int
) -> go.Figure:
    """The deployed model's ``top_n`` largest importances (or coefficients, by
    magnitude) from its rows of ``model_feature_weights``: a classifier's, or the
    one-line rule's single coefficient; for the base rate, a figure saying it reads none.
    """
    name = best_model_info["name"]
    if best_model_info["kind"] == "base_rate":
        figure = go.Figure()
        figure.add_annotation(
            text="The base rate reads no feature: every user gets the same score.",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
        figure.update_layout(
            title=f"Deployed: the base rate {name}: no feature weight",
            xaxis_visible=False,
            yaxis_visible=False,
        )
        return figure
    weights = model_feature_weights[
        model_feature_weights["model"] == best_model_info["name"]
    ]
    if weights.empty:
        raise ValueError(
            f"model_feature_weights holds no weight of the deployed model "
            f"{best_model_info['name']}."
        )
    top = weights.reindex(weights["value"].abs().sort_values().index)[-top_n:]
    kind = top["kind"].iloc[0]
    figure = go.Figure(
        go.Bar(
            x=top["value"],
            y=top["feature"],
            orientation="h",
            marker_color=[
                "#d62728" if value > 0 else "#1f77b4" for value in top["value"]
            ],
        )
    )
    figure.update_layout(
        title=f"Deployed: the one-line rule {name}, refitted as a one-feature logistic "
        f"regression: its {kind}"
        if best_model_info["kind"] == "rule"
        else f"Deployed model {name}: top {len(top)} feature {kind}s",
        xaxis_title=kind,
        height=max(400, 25 * len(top) + 150),
    )
    return figure


def plot_churn_score_distribution(score_histogram: pd.DataFrame) -> go.Figure:
    """Histogram of the users' churn probabilities, stacked by risk tier."""
    figure = go.Figure(
        [
            go.Bar(
                x=(rows["bin_start"] + rows["bin_end"]) / 2,
                y=rows["users"],
                width=rows["bin_end"] - rows["bin_start"],
                name=tier,
            )
            for tier, rows in score_histogram.groupby("risk_tier")
        ]
    )
    figure.update_layout(
        barmode="stack",
        title="Churn scores of the users at risk, by risk tier",
        xaxis={"title": "churn probability", "range": [0, 1]},
        yaxis_title="users",
        legend_title="risk tier",
    )
    return figure
