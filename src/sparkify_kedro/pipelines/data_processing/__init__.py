"""The data_processing pipeline."""

from sparkify_kedro.pipelines.data_processing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
