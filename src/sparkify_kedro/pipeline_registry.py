"""Project pipelines: every folder under ``pipelines/`` plus the composed flows."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline, pipeline

#: The stages that turn ``raw_events`` into scores, in order; ``__default__`` runs them all.
PRODUCTION_STAGES = (
    "data_processing",
    "churn_labeling",
    "feature_engineering",
    "modeling",
    "scoring",
    "reporting",
)


def register_pipelines() -> dict[str, Pipeline]:
    """Register each pipeline by its folder name, ``__default__`` and ``demo``."""
    pipelines = find_pipelines(raise_errors=True)
    production = [pipelines[name] for name in PRODUCTION_STAGES if name in pipelines]
    pipelines["__default__"] = sum(production, Pipeline([]))
    if "simulation" in pipelines:
        # The same production stages, fed by the simulator instead of a real log.
        pipelines["demo"] = pipelines["simulation"] + pipeline(
            pipelines["__default__"], inputs={"raw_events": "simulated_events"}
        )
    return pipelines
