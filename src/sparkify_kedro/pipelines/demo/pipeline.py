"""``demo``: simulate a Sparkify-like log, then run every production stage on it.

The production stages are reused as they are, through Kedro's input mapping: their free input
``raw_events`` is fed by the simulator's ``simulated_events``. No pipeline is copied.
"""

from importlib import import_module

from kedro.pipeline import Pipeline, pipeline

from sparkify_kedro.pipelines import PRODUCTION_STAGES
from sparkify_kedro.pipelines.reporting import create_simulation_reporting_pipeline
from sparkify_kedro.pipelines.simulation import create_pipeline as create_simulation


def create_production_pipeline() -> Pipeline:
    """Every production stage, ``raw_events`` to reports, in one pipeline."""
    return sum(
        (
            import_module(f"sparkify_kedro.pipelines.{stage}").create_pipeline()
            for stage in PRODUCTION_STAGES
        ),
        Pipeline([]),
    )


def create_pipeline(**kwargs) -> Pipeline:
    return (
        create_simulation()
        + create_simulation_reporting_pipeline()
        + pipeline(
            create_production_pipeline(), inputs={"raw_events": "simulated_events"}
        )
    )
