"""The ``simulation`` pipeline: parameters -> ``simulated_events`` (+ truth, calibration)."""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.simulation.nodes import (
    build_simulation_calibration,
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
        ],
        tags=["simulation"],
    )
