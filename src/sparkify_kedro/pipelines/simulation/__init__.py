"""The simulation pipeline: a Sparkify-like raw event log, its ground truth and calibration;
and the ceiling pipeline: the simulator's own churn probabilities against every model."""

from sparkify_kedro.pipelines.simulation.ceiling.pipeline import create_ceiling_pipeline
from sparkify_kedro.pipelines.simulation.pipeline import create_pipeline

__all__ = ["create_ceiling_pipeline", "create_pipeline"]
