"""The ``simulation`` pipeline: parameters -> ``simulated_events`` (+ truth, calibration
report and its figure)."""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.simulation.calibration import (
    build_simulation_calibration,
    plot_simulation_calibration,
)
from sparkify_kedro.pipelines.simulation.nodes import (
    build_simulation_truth,
    generate_events,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                generate_events,
                inputs="params:simulation",
                outputs="simulated_events",
                name="generate_events",
            ),
            Node(
                build_simulation_truth,
                inputs=["simulated_events", "params:simulation"],
                outputs="simulation_truth",
                name="build_simulation_truth",
            ),
            Node(
                build_simulation_calibration,
                inputs=["simulated_events", "params:simulation"],
                outputs="simulation_calibration",
                name="build_simulation_calibration",
            ),
            Node(
                plot_simulation_calibration,
                inputs="simulation_calibration",
                outputs="simulation_calibration_plot",
                name="plot_simulation_calibration",
            ),
        ],
        tags=["simulation"],
    )
