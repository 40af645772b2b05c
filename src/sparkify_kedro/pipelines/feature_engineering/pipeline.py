"""The ``feature_engineering`` pipeline: ``user_features`` and ``model_input_table``."""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.feature_engineering.nodes import (
    build_model_input_table,
    build_user_features,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_user_features,
                inputs=[
                    "clean_events",
                    "churn_labels",
                    "params:churn_task",
                    "params:feature_engineering",
                ],
                outputs="user_features",
                name="build_user_features",
            ),
            Node(
                build_model_input_table,
                inputs=["user_features", "churn_labels"],
                outputs="model_input_table",
                name="build_model_input_table",
            ),
        ],
        tags=["feature_engineering"],
    )
