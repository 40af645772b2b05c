"""Nodes of the ``reporting`` pipeline: small tables aggregated in Spark, then figures.

Every Spark input is reduced in Spark to a table whose size does not grow with the events
(one row per segment value, histogram bin or score step) before it reaches pandas. Figures
are plotly ``go.Figure`` objects (saved as JSON; kedro-viz previews them) or matplotlib
``Figure`` objects built without ``pyplot`` (saved as PNG; no display needed).
"""

from __future__ import annotations

import math
from functools import reduce
from itertools import cycle
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

LABEL = "label"
CHURNERS, OTHERS = "churners", "others"
BASELINE = "baseline"
_COLOURS = {CHURNERS: "#d62728", OTHERS: "#1f77b4"}


# ------------------------------------------------------------------ churn by segment
def churn_rate_by_segment(
    model_input_table: DataFrame, segments: dict[str, str]
) -> pd.DataFrame:
    """Rows, churners and churn rate of the labelled rows per value of each segment.

    ``segments`` maps a segment name (``level``) to a column of ``model_input_table``
    (``level_at_cutoff``). A missing value counts as ``unknown``. Columns: ``segment``,
    ``value``, ``rows``, ``churners``, ``churn_rate``; per segment, most rows first.
    """
    parts = [
        model_input_table.groupBy(
            F.coalesce(F.col(column).cast("string"), F.lit("unknown")).alias("value")
        )
        .agg(F.count("*").alias("rows"), F.sum(LABEL).alias("churners"))
        .withColumn("segment", F.lit(name))
        for name, column in segments.items()
    ]
    table = reduce(DataFrame.unionByName, parts).toPandas()
    table["churn_rate"] = table["churners"] / table["rows"]
    order = {name: index for index, name in enumerate(segments)}
    table = table.sort_values(
        ["segment", "rows", "value"],
        ascending=[True, False, True],
        key=lambda column: column.map(order) if column.name == "segment" else column,
    )
    return table[["segment", "value", "rows", "churners", "churn_rate"]].reset_index(
        drop=True
    )


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


def plot_churn_rate_by_segment_png(churn_by_segment: pd.DataFrame) -> Figure:
    """The churn rate by segment as a matplotlib figure (one panel per segment)."""
    segments = list(dict.fromkeys(churn_by_segment["segment"]))
    figure = Figure(figsize=(4 * len(segments), 4), layout="constrained")
    axes = figure.subplots(1, len(segments), sharey=True, squeeze=False)[0]
    for ax, segment in zip(axes, segments, strict=True):
        rows = churn_by_segment[churn_by_segment["segment"] == segment]
        labels = [
            f"{v}\n(n={n})" for v, n in zip(rows["value"], rows["rows"], strict=True)
        ]
        ax.bar(labels, rows["churn_rate"], color="#1f77b4")
        ax.set_title(segment)
        ax.tick_params(axis="x", labelrotation=30)
    axes[0].set_ylabel("churn rate (labelled rows)")
    figure.suptitle("Churn rate by segment")
    return figure


# --------------------------------------------------------------- feature distributions
def numeric_features(
    feature_groups: dict[str, list[str]], categorical_features: list[str]
) -> list[str]:
    """The numeric feature columns of every group, in order (no categorical feature)."""
    categorical = set(categorical_features)
    columns = dict.fromkeys(c for group in feature_groups.values() for c in group)
    return [column for column in columns if column not in categorical]


def feature_separation(
    model_input_table: DataFrame,
    feature_groups: dict[str, list[str]],
    categorical_features: list[str],
) -> pd.DataFrame:
    """How far churners and others lie apart on each numeric feature, strongest first.

    One Spark aggregation: mean and standard deviation per class. ``effect_size`` is the
    difference of means over the pooled standard deviation (Cohen's d, churners minus
    others); a feature that never varies has none and sorts last.
    """
    features = numeric_features(feature_groups, categorical_features)
    aggregates = [
        aggregate(F.col(feature).cast("double")).alias(f"{name}:{feature}")
        for feature in features
        for name, aggregate in (
            ("mean", F.avg),
            ("sd", F.stddev_samp),
            ("n", F.count),
        )
    ]
    stats = {
        int(row[LABEL]): row.asDict()
        for row in model_input_table.groupBy(LABEL).agg(*aggregates).collect()
    }
    churners, others = stats.get(1, {}), stats.get(0, {})
    table = pd.DataFrame(
        [
            {
                "feature": feature,
                "mean_churners": churners.get(f"mean:{feature}"),
                "mean_others": others.get(f"mean:{feature}"),
                "effect_size": _cohens_d(churners, others, feature),
            }
            for feature in features
        ]
    )
    table["abs_effect_size"] = table["effect_size"].abs()
    return (
        table.sort_values("abs_effect_size", ascending=False, na_position="last")
        .drop(columns="abs_effect_size")
        .reset_index(drop=True)
    )


def _cohens_d(churners: dict[str, Any], others: dict[str, Any], feature: str) -> float:
    """(mean of churners - mean of others) / pooled standard deviation, else NaN.

    ``churners`` and ``others`` hold the ``mean:``, ``sd:`` and ``n:`` aggregates of
    each feature for one class; NaN when a class is missing or nothing varies.
    """
    mean_1, mean_0 = churners.get(f"mean:{feature}"), others.get(f"mean:{feature}")
    sd_1, sd_0 = churners.get(f"sd:{feature}"), others.get(f"sd:{feature}")
    n_1, n_0 = churners.get(f"n:{feature}", 0), others.get(f"n:{feature}", 0)
    if None in (mean_1, mean_0, sd_1, sd_0) or n_1 + n_0 <= 2:
        return math.nan
    pooled = math.sqrt(((n_1 - 1) * sd_1**2 + (n_0 - 1) * sd_0**2) / (n_1 + n_0 - 2))
    return (mean_1 - mean_0) / pooled if pooled > 0 else math.nan


def feature_histograms(
    model_input_table: DataFrame,
    separation: pd.DataFrame,
    n_features: int,
    bins: int,
) -> pd.DataFrame:
    """Histograms of the ``n_features`` strongest features, churners and others apart.

    The bins split the feature's 1st..99th percentile range into ``bins`` equal widths;
    values outside fall into the end bins, missing values are left out. ``share`` is the
    bin's share of its class's non-missing rows. Columns: ``feature``, ``bin``,
    ``bin_start``, ``bin_end``, ``group`` (churners | others), ``rows``, ``share``.
    """
    features = list(separation.dropna(subset=["effect_size"])["feature"][:n_features])
    ranges = model_input_table.approxQuantile(features, [0.01, 0.99], 0.001)
    parts = []
    for feature, (low, high) in zip(features, ranges, strict=True):
        value = F.col(feature).cast("double")
        width = (high - low) / bins if high > low else 1.0
        index = F.least(
            F.greatest(F.floor((value - F.lit(low)) / F.lit(width)), F.lit(0)),
            F.lit(bins - 1),
        )
        parts.append(
            model_input_table.where(value.isNotNull())
            .groupBy(F.col(LABEL).alias(LABEL), index.cast("int").alias("bin"))
            .count()
            .withColumn("feature", F.lit(feature))
            .withColumn("bin_start", F.lit(low) + F.col("bin") * F.lit(width))
            .withColumn("bin_end", F.col("bin_start") + F.lit(width))
        )
    columns = ["feature", "bin", "bin_start", "bin_end", "group", "rows", "share"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = reduce(DataFrame.unionByName, parts).toPandas()
    table = table.rename(columns={"count": "rows"})
    table["group"] = table[LABEL].map({1: CHURNERS, 0: OTHERS})
    table["share"] = table["rows"] / table.groupby(["feature", LABEL])[
        "rows"
    ].transform("sum")
    order = {feature: index for index, feature in enumerate(features)}
    table = table.sort_values(
        ["feature", "group", "bin"],
        key=lambda column: column.map(order) if column.name == "feature" else column,
    )
    return table[columns].reset_index(drop=True)


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


# ------------------------------------------------------------------- model comparison
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


def plot_model_comparison_png(model_metrics: pd.DataFrame) -> Figure:
    """The model comparison as a matplotlib grouped bar chart with interval error bars
    and baseline lines."""
    models, baselines = _model_rows(model_metrics)
    algorithms = list(dict.fromkeys(models["algorithm"]))
    feature_sets = list(dict.fromkeys(models["feature_set"]))
    figure = Figure(figsize=(9, 4.8), layout="constrained")
    ax = figure.subplots()
    width = 0.8 / max(1, len(feature_sets))
    for offset, feature_set in enumerate(feature_sets):
        rows = (
            models[models["feature_set"] == feature_set]
            .set_index("algorithm")
            .reindex(algorithms)
        )
        positions = [i + offset * width for i in range(len(algorithms))]
        ax.bar(
            positions,
            rows["auc_pr"],
            width=width,
            label=feature_set,
            yerr=[
                rows["auc_pr"] - rows["auc_pr_low"],
                rows["auc_pr_high"] - rows["auc_pr"],
            ],
            capsize=3,
        )
        for position, row in zip(positions, rows.itertuples(), strict=True):
            if row.chosen is True:
                ax.annotate("*", (position, row.auc_pr_high), ha="center", fontsize=14)
    ax.set_xticks(
        [i + width * (len(feature_sets) - 1) / 2 for i in range(len(algorithms))],
        algorithms,
    )
    styles = cycle(["--", ":", "-."])
    for baseline in baselines.dropna(subset=["auc_pr"]).itertuples():
        ax.axhline(
            baseline.auc_pr,
            linestyle=next(styles),
            color="grey",
            label=f"baseline {baseline.algorithm} ({_interval_text(baseline)})",
        )
    ax.set_ylim(0, 1)
    ax.set_ylabel("test AUC-PR")
    ax.legend(title="feature set / baseline", fontsize="small")
    ax.set_title(_COMPARISON_TITLE, fontsize="medium")
    return figure


# -------------------------------------------------- curves of the best model on test
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


def plot_roc_pr_curves_png(
    curve: pd.DataFrame, best_model_info: dict[str, Any]
) -> Figure:
    """The ROC and precision-recall curves as a two-panel matplotlib figure."""
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    roc_ax, pr_ax = figure.subplots(1, 2)
    roc_ax.plot(curve["false_positive_rate"], curve["true_positive_rate"])
    roc_ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    roc_ax.set(
        title=f"ROC (AUC {_test_metric(best_model_info, 'auc_roc')})",
        xlabel="false positive rate",
        ylabel="true positive rate",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    selected = curve[curve["selected"] > 0]
    pr_ax.plot(selected["true_positive_rate"], selected["precision"])
    pr_ax.axhline(_churn_rate(curve), linestyle="--", color="grey")
    pr_ax.set(
        title=f"Precision-recall (AUC-PR {_test_metric(best_model_info, 'auc_pr')})",
        xlabel="recall",
        ylabel="precision",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    figure.suptitle(f"Best model on the test rows: {best_model_info['name']}")
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


def plot_cumulative_gains_png(curve: pd.DataFrame) -> Figure:
    """The cumulative gains chart as a matplotlib figure."""
    figure = Figure(figsize=(6, 5), layout="constrained")
    ax = figure.subplots()
    ax.plot(curve["share_selected"], curve["true_positive_rate"], label="best model")
    ax.plot(
        curve["share_selected"], _perfect_gains(curve), ":", label="perfect ranking"
    )
    ax.plot([0, 1], [0, 1], "--", color="grey", label="random ranking")
    ax.set(
        title="Cumulative gains of the best model on the test rows",
        xlabel="share of rows contacted (highest score first)",
        ylabel="share of churners caught",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.legend()
    return figure


# -------------------------------------------------------------------- feature weights
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


# ------------------------------------------------------------------------ churn scores
def churn_score_histogram(churn_scores: DataFrame, bins: int) -> pd.DataFrame:
    """Scored users per churn-probability bin and risk tier (``bins`` bins over [0, 1])."""
    index = F.least(F.floor(F.col("churn_probability") * F.lit(bins)), F.lit(bins - 1))
    table = (
        churn_scores.groupBy(index.cast("int").alias("bin"), "risk_tier")
        .agg(F.count("*").alias("users"))
        .toPandas()
        .sort_values(["bin", "risk_tier"])
    )
    table["bin_start"] = table["bin"] / bins
    table["bin_end"] = (table["bin"] + 1) / bins
    return table[["bin", "bin_start", "bin_end", "risk_tier", "users"]].reset_index(
        drop=True
    )


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


# ---------------------------------------------------------------- simulation (demo)
def plot_simulation_calibration(simulation_calibration: dict[str, Any]) -> go.Figure:
    """Each simulated figure over its published mini-file value, with the tolerance.

    A ratio of 1 matches the published figure; the grey bar spans the accepted range of
    a check (green marker: passed, red: failed); figures without a tolerance are grey.
    """
    entries = [
        {**check, "checked": True} for check in simulation_calibration["checks"]
    ] + [
        {**info, "checked": False}
        for info in simulation_calibration.get("for_comparison", [])
    ]
    entries = [
        entry
        for entry in entries
        if entry["simulated"] is not None and entry["published"]
    ]
    table = pd.DataFrame(entries)
    table["ratio"] = table["simulated"] / table["published"]
    checked = table[table["checked"]]
    figure = go.Figure(
        go.Bar(
            y=checked["figure"],
            x=(checked["high"] - checked["low"]) / checked["published"],
            base=checked["low"] / checked["published"],
            orientation="h",
            marker_color="lightgrey",
            name="accepted range",
        )
    )
    colours = [
        ("green" if entry.passed else "red") if entry.checked else "grey"
        for entry in table.itertuples()
    ]
    figure.add_trace(
        go.Scatter(
            y=table["figure"],
            x=table["ratio"],
            mode="markers",
            marker={"color": colours, "size": 9},
            customdata=table[["simulated", "published"]],
            hovertemplate="simulated %{customdata[0]} / published %{customdata[1]}",
            name="simulated / published",
        )
    )
    figure.add_vline(x=1, line_dash="dash", line_color="grey")
    figure.update_layout(
        title=(
            "Simulator calibration against the mini file: "
            + ("all checks passed" if simulation_calibration["passed"] else "FAILED")
        ),
        xaxis_title="simulated / published",
        height=max(400, 22 * len(table) + 150),
        yaxis={"autorange": "reversed"},
    )
    return figure
