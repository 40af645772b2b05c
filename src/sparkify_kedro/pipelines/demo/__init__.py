"""The demo flow: the simulator feeding every production stage."""

from sparkify_kedro.pipelines.demo.pipeline import create_pipeline

__all__ = ["create_pipeline"]
