"""The scoring pipeline."""

from sparkify_kedro.pipelines.scoring.pipeline import create_pipeline

__all__ = ["create_pipeline"]
