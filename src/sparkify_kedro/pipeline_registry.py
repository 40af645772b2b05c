"""Project pipelines: one per folder under ``pipelines/``, and the flows built from them.

The folders are imported explicitly rather than with ``find_pipelines``: Kedro 1.7's
``find_pipelines`` stops a run asking for a name that is not a folder (``--pipelines
demo``), and explicit imports show what each flow is made of (tests/test_registry.py
checks that every folder is registered).

- ``__default__``: the production stages, ``raw_events`` to scores and reports, in order;
- ``ceiling``: the best achievable model on a simulated log, and each model's distance to it;
- ``demo``: the simulator (with its calibration report) feeding ``__default__`` (Kedro's
  input mapping: its free input ``raw_events`` is the simulator's ``simulated_events``;
  nothing is copied), then the ceiling; the report page is built last, with the ceiling
  (the same nodes reading the ceiling's outputs too);
- ``inference``: a new log scored by the saved model: ``data_processing``, the log's end
  and ``scoring`` under the Kedro namespace ``inference``, so every dataset it writes is
  ``inference.<name>`` and no training dataset is touched; then, outside the namespace,
  the new log's drift from the training rows and the inference page.
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
    the report page with the ceiling's figures (in place of the production page, which
    would run before the ceiling and say none was measured)."""
    production = create_production_pipeline() - reporting.create_report_page_pipeline()
    return simulation.create_pipeline() + pipeline(
        production
        + simulation.create_ceiling_pipeline()
        + reporting.create_report_page_pipeline(with_ceiling=True),
        inputs={"raw_events": "simulated_events"},
    )


#: What ``inference`` reads from training: the saved model and its record (windows, name).
MODEL_DATASETS = frozenset({"best_model", "best_model_info"})
#: Parameters ``inference`` shares with training: the same cleaning rules, and every
#: scoring parameter (risk tiers, ranking, reasons, the revenue assumptions).
#: The log's end (``churn_labeling.log_end``) is the new log's own, under ``inference.``:
#: its ``override`` is a date of one log.
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
    """The new log against the model's training rows (``inference.drift_report``), then
    its page (``inference.report_page``): nodes of the ``inference`` namespace written
    here, as they read training datasets and parameters by their own names."""
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
