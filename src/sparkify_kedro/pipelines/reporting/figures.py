"""Figures of the ``reporting`` pipeline: plotly ``go.Figure`` objects, one per figure.

Plotly is the project's one plotting library: kedro-viz previews its figures (saved as
JSON) and a browser draws them interactively, with no display or image toolkit needed. The
figures draw small pandas tables (``tables.py`` or the modeling outputs) and never touch
Spark.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sparkify_kedro.pipelines.reporting.tables import CHURNERS, OTHERS

BASELINE = "baseline"


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


def _model_rows(model_metrics: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the models' rows, the baselines' rows) of ``model_metrics``."""
    is_baseline = model_metrics["feature_set"] == BASELINE
    return model_metrics[~is_baseline], model_metrics[is_baseline]


def _interval_text(row: Any) -> str:
    """``0.412 [0.301, 0.530]``: a row's test AUC-PR and its bootstrap interval."""
    return f"{row.auc_pr:.3f} [{row.auc_pr_low:.3f}, {row.auc_pr_high:.3f}]"


_COMPARISON_TITLE = (
    "Model comparison: test AUC-PR with 95 % bootstrap intervals (users resampled); "
    "* = chosen on validation"
)


def plot_model_comparison(model_metrics: pd.DataFrame) -> go.Figure:
    """Test AUC-PR per algorithm, one bar per feature set, with their bootstrap intervals
    as error bars; the chosen model marked; baselines as dashed lines."""
    models, baselines = _model_rows(model_metrics)
    figure = go.Figure(
        [
            go.Bar(
                x=rows["algorithm"],
                y=rows["auc_pr"],
                name=feature_set,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": rows["auc_pr_high"] - rows["auc_pr"],
                    "arrayminus": rows["auc_pr"] - rows["auc_pr_low"],
                },
                text=["*" if chosen else "" for chosen in rows["chosen"]],
                textposition="outside",
                customdata=[_interval_text(row) for row in rows.itertuples()],
                hovertemplate="%{x}: AUC-PR %{customdata}",
            )
            for feature_set, rows in models.groupby("feature_set", sort=False)
        ]
    )
    for baseline in baselines.dropna(subset=["auc_pr"]).itertuples():
        figure.add_hline(
            y=baseline.auc_pr,
            line_dash="dash",
            line_color="grey",
            annotation_text=f"baseline {baseline.algorithm}: {_interval_text(baseline)}",
        )
    figure.update_layout(
        barmode="group",
        title=_COMPARISON_TITLE,
        xaxis_title="algorithm",
        yaxis_title="test AUC-PR",
        legend_title="feature set",
        yaxis_range=[0, 1],
    )
    return figure


def _test_metric(best_model_info: dict[str, Any], name: str) -> str:
    """A test metric of the best model with its interval, formatted for a title."""
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
    """ROC and precision-recall curves of the best model on the test rows.

    ``curve`` is the model's ranking curve on the test rows (``best_model_test_curve``,
    one row per score threshold, computed by ``modeling``).
    """
    roc = f"ROC (AUC {_test_metric(best_model_info, 'auc_roc')})"
    pr = f"Precision-recall (AUC-PR {_test_metric(best_model_info, 'auc_pr')})"
    figure = make_subplots(rows=1, cols=2, subplot_titles=[roc, pr])
    figure.add_trace(
        go.Scatter(
            x=curve["false_positive_rate"],
            y=curve["true_positive_rate"],
            mode="lines",
            name=best_model_info["name"],
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
            name=f"{best_model_info['name']} (PR)",
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
        title=f"Best model on the test rows: {best_model_info['name']}"
    )
    return figure


def _perfect_gains(curve: pd.DataFrame) -> pd.Series:
    """The gains of a perfect ranking: every churner before every other row."""
    rate = _churn_rate(curve)
    return (
        (curve["share_selected"] / rate).clip(upper=1.0)
        if rate
        else curve["share_selected"] * 0
    )


def plot_cumulative_gains(curve: pd.DataFrame) -> go.Figure:
    """Share of churners caught against share of rows contacted, best scores first."""
    figure = go.Figure(
        [
            go.Scatter(
                x=curve["share_selected"],
                y=curve["true_positive_rate"],
                customdata=curve[["lift"]],
                hovertemplate="top %{x:.0%}: %{y:.0%} of churners, lift %{customdata[0]:.2f}",
                mode="lines",
                name="best model",
            ),
            go.Scatter(
                x=curve["share_selected"],
                y=_perfect_gains(curve),
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
        title="Cumulative gains of the best model on the test rows",
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
    """The best model's ``top_n`` largest importances (or coefficients, by magnitude)."""
    weights = model_feature_weights[
        (model_feature_weights["feature_set"] == best_model_info["feature_set"])
        & (model_feature_weights["algorithm"] == best_model_info["algorithm"])
    ]
    if weights.empty:
        raise ValueError(
            f"model_feature_weights holds no weight of the best model "
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
        title=f"Best model {best_model_info['name']}: top {len(top)} feature {kind}s",
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
