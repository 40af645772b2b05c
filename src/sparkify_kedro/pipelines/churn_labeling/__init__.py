"""The churn_labeling pipeline."""

from sparkify_kedro.pipelines.churn_labeling.pipeline import create_pipeline

__all__ = ["create_pipeline"]
