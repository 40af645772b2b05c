"""Project pipelines: one per folder under ``pipelines/``, plus ``__default__``."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from sparkify_kedro.pipelines.demo.pipeline import create_production_pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Each pipeline folder by its name (``find_pipelines``; Kedro 1.7 imports only the
    ones a run asks for), and ``__default__``: every production stage on ``raw_events``."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = create_production_pipeline()
    return pipelines
