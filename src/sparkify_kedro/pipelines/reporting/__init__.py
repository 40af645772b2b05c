"""The reporting pipeline: tables (Spark aggregations) and figures (plotly)."""

from sparkify_kedro.pipelines.reporting.pipeline import create_pipeline

__all__ = ["create_pipeline"]
