"""The reporting pipeline: tables (Spark aggregations), figures (plotly), the report page."""

from sparkify_kedro.pipelines.reporting.pipeline import (
    create_pipeline,
    create_report_page_pipeline,
)

__all__ = ["create_pipeline", "create_report_page_pipeline"]
