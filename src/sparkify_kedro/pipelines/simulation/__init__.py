"""The simulation pipeline: a Sparkify-like raw event log, its ground truth and calibration."""

from sparkify_kedro.pipelines.simulation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
