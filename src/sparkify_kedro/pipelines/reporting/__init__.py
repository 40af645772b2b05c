"""The reporting pipeline (and the demo-only simulation report)."""

from sparkify_kedro.pipelines.reporting.pipeline import (
    create_pipeline,
    create_simulation_reporting_pipeline,
)

__all__ = ["create_pipeline", "create_simulation_reporting_pipeline"]
