"""Project pipelines: one per folder under ``pipelines/``, and the flows built from them.

- ``__default__``: the production stages, ``raw_events`` to scores and reports, in order;
- ``ceiling``: the best achievable model on a simulated log, and each model's distance to it;
- ``demo``: the simulator feeding ``__default__`` (Kedro's input mapping: its free input
  ``raw_events`` is the simulator's ``simulated_events``; nothing is copied), the
  simulator's calibration report and the ceiling.
"""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline, pipeline

from sparkify_kedro.pipelines import (
    churn_labeling,
    data_processing,
    feature_engineering,
    modeling,
    reporting,
    scoring,
    simulation,
)

#: The stages that turn ``raw_events`` into scores and reports, in order.
PRODUCTION_STAGES = (
    data_processing,
    churn_labeling,
    feature_engineering,
    modeling,
    scoring,
    reporting,
)


def create_production_pipeline() -> Pipeline:
    """Every production stage, ``raw_events`` to reports, in one pipeline."""
    return sum((stage.create_pipeline() for stage in PRODUCTION_STAGES), Pipeline([]))


def create_demo_pipeline() -> Pipeline:
    """Simulate a log, run every production stage on it, then measure the ceiling."""
    return (
        simulation.create_pipeline()
        + reporting.create_simulation_reporting_pipeline()
        + pipeline(
            create_production_pipeline() + simulation.create_ceiling_pipeline(),
            inputs={"raw_events": "simulated_events"},
        )
    )


def register_pipelines() -> dict[str, Pipeline]:
    """Each pipeline folder by its name (``find_pipelines``), then the composed flows."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = create_production_pipeline()
    pipelines["ceiling"] = simulation.create_ceiling_pipeline()
    pipelines["demo"] = create_demo_pipeline()
    return pipelines
