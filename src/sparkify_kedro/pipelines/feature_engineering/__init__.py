"""The feature_engineering pipeline."""

from sparkify_kedro.pipelines.feature_engineering.pipeline import create_pipeline

__all__ = ["create_pipeline"]
