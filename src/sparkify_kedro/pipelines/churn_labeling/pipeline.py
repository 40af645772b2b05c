"""The ``churn_labeling`` pipeline: ``clean_events`` to ``churn_labels``."""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.churn_labeling.nodes import (
    build_churn_labels,
    determine_log_span,
    select_churn_events,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                determine_log_span,
                inputs=["clean_events", "params:churn_labeling.log_end"],
                outputs="log_span",
                name="determine_log_span",
            ),
            Node(
                select_churn_events,
                inputs=["clean_events", "params:churn_task"],
                outputs="churn_events",
                name="select_churn_events",
            ),
            Node(
                build_churn_labels,
                inputs=[
                    "clean_events",
                    "churn_events",
                    "log_span",
                    "params:churn_task",
                ],
                outputs="churn_labels",
                name="build_churn_labels",
            ),
        ],
        tags=["churn_labeling"],
    )
