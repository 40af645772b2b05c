"""Project pipelines: one per folder under ``pipelines/`` (imported explicitly: Kedro's
``find_pipelines`` would stop a run asking for ``--pipelines demo``), and the flows:

- ``__default__``: the production stages, ``raw_events`` to scores and reports, in order;
- ``ceiling``: the best achievable model on a simulated log, and each model's distance to it;
- ``demo``: the simulator feeding ``__default__`` (its ``raw_events`` mapped to
  ``simulated_events``), then the ceiling, then the report page with the ceiling;
- ``inference``: a new log scored by the saved model under the namespace ``inference``
  (every dataset it writes is ``inference.<name>``), then its drift and its page.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline, pipeline

from sparkify_kedro.drift import report_drift_from_training
from sparkify_kedro.pipelines import (
    churn_labeling,
    data_processing,
    feature_engineering,
    modeling,
    reporting,
    scoring,
    simulation,
)
from sparkify_kedro.pipelines.reporting.render import render_inference_page

#: The stages that turn ``raw_events`` into scores and reports, in order.
PRODUCTION_STAGES = (
    data_processing,
    churn_labeling,
    feature_engineering,
    modeling,
    scoring,
    reporting,
)


def create_production_pipeline() -> Pipeline:
    """Every production stage, ``raw_events`` to reports, in one pipeline."""
    return sum((stage.create_pipeline() for stage in PRODUCTION_STAGES), Pipeline([]))


def create_demo_pipeline() -> Pipeline:
    """Simulate a log, run every production stage on it, measure the ceiling, then build
    the report page with the ceiling's figures (in place of the production page)."""
    production = create_production_pipeline() - reporting.create_report_page_pipeline()
    return simulation.create_pipeline() + pipeline(
        production
        + simulation.create_ceiling_pipeline()
        + reporting.create_report_page_pipeline(with_ceiling=True),
        inputs={"raw_events": "simulated_events"},
    )


#: What ``inference`` reads from training: the saved model and its record (windows, name).
MODEL_DATASETS = frozenset({"best_model", "best_model_info"})
#: Parameters ``inference`` shares with training: the cleaning rules and every scoring
#: parameter (the log's end, a date of one log, is the new log's own).
SHARED_PARAMETERS = frozenset(
    {
        "data_processing",
        "scoring.risk_tiers",
        "scoring.rank_by",
        "scoring.reasons_per_user",
        "scoring.revenue",
    }
)


def create_inference_report_pipeline() -> Pipeline:
    """The new log's drift from the model's training rows, then its page: ``inference``
    nodes written here, as they read training datasets by their own names."""
    return Pipeline(
        [
            Node(
                report_drift_from_training,
                inputs=[
                    "inference.scoring_features",
                    "best_model_info",
                    "params:inference.drift",
                ],
                outputs="inference.drift_report",
                name="report_drift_from_training",
                namespace="inference",
            ),
            Node(
                render_inference_page,
                inputs=[
                    "inference.log_span",
                    "inference.data_quality_report",
                    "inference.drift_report",
                    "inference.churn_scores",
                    "best_model_info",
                    "params:scoring.revenue",
                ],
                outputs="inference.report_page",
                name="render_inference_page",
                namespace="inference",
            ),
        ],
        tags=["inference", "reporting"],
    )


def create_inference_pipeline() -> Pipeline:
    """Clean a new log, find its end and score it with ``best_model``, under namespace
    ``inference``: the same nodes as training, writing ``inference.*`` datasets only;
    then how far the log moved from the training rows, and its page."""
    log_end = churn_labeling.create_pipeline().only_nodes("determine_log_span")
    scored = pipeline(
        data_processing.create_pipeline() + log_end + scoring.create_pipeline(),
        namespace="inference",
        inputs=set(MODEL_DATASETS),
        parameters=set(SHARED_PARAMETERS),
        tags=["inference"],
    )
    return scored + create_inference_report_pipeline()


#: Every pipeline folder: ``kedro run --pipelines <folder name>`` runs its pipeline.
PIPELINE_FOLDERS = (*PRODUCTION_STAGES, simulation)


def register_pipelines() -> dict[str, Pipeline]:
    """Each pipeline folder by its name, then the composed flows."""
    pipelines = {
        folder.__name__.rpartition(".")[2]: folder.create_pipeline()
        for folder in PIPELINE_FOLDERS
    }
    pipelines["__default__"] = create_production_pipeline()
    pipelines["ceiling"] = simulation.create_ceiling_pipeline()
    pipelines["demo"] = create_demo_pipeline()
    pipelines["inference"] = create_inference_pipeline()
    return pipelines
