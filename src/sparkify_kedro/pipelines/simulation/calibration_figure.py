"""The simulator's calibration figure: each simulated figure over its published value."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go


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
