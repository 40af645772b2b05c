"""The ``scoring`` pipeline: ``best_model`` scores every user at risk at the end of the log.

The features come from the same function as training (``compute_user_features`` of
``feature_engineering``), for the users active in the last observation window who have
not churned.
"""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.feature_engineering.nodes import compute_user_features
from sparkify_kedro.pipelines.scoring.nodes import (
    assign_risk_tiers,
    build_scoring_cutoffs,
    churn_scores_table,
    score_users,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_scoring_cutoffs,
                inputs=[
                    "clean_events",
                    "log_span",
                    "params:feature_engineering.observation_days",
                ],
                outputs="scoring_cutoffs",
                name="build_scoring_cutoffs",
            ),
            Node(
                compute_user_features,
                inputs=[
                    "clean_events",
                    "scoring_cutoffs",
                    "params:feature_engineering",
                ],
                outputs="scoring_features",
                name="compute_scoring_features",
            ),
            Node(
                score_users,
                inputs=["best_model", "scoring_features"],
                outputs="user_churn_probabilities",
                name="score_users",
            ),
            Node(
                assign_risk_tiers,
                inputs=[
                    "user_churn_probabilities",
                    "best_model_info",
                    "params:scoring.risk_tiers",
                ],
                outputs="churn_scores",
                name="assign_risk_tiers",
            ),
            Node(
                churn_scores_table,
                inputs="churn_scores",
                outputs="churn_scores_csv",
                name="export_churn_scores_csv",
            ),
        ],
        tags=["scoring"],
    )
