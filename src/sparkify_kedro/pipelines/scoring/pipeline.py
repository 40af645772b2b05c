"""The ``scoring`` pipeline: ``best_model`` scores every user at risk at the end of the log.

The features come from the same function as training (``sparkify_kedro.features``), with
the windows and feature parameters frozen in ``best_model_info``, for the users active in
the model's last observation window who have not churned.
"""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.scoring.nodes import (
    assign_risk_tiers,
    build_scoring_cutoffs,
    build_scoring_features,
    churn_scores_table,
    estimate_monthly_value,
    score_users,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_scoring_cutoffs,
                inputs=["clean_events", "log_span", "best_model_info"],
                outputs="scoring_cutoffs",
                name="build_scoring_cutoffs",
            ),
            Node(
                build_scoring_features,
                inputs=["clean_events", "scoring_cutoffs", "best_model_info"],
                outputs="scoring_features",
                name="build_scoring_features",
            ),
            Node(
                score_users,
                inputs=[
                    "best_model",
                    "scoring_features",
                    "best_model_info",
                    "params:scoring.reasons_per_user",
                ],
                outputs="user_churn_probabilities",
                name="score_users",
            ),
            Node(
                estimate_monthly_value,
                inputs=[
                    "scoring_features",
                    "best_model_info",
                    "params:scoring.revenue",
                ],
                outputs="user_monthly_values",
                name="estimate_monthly_value",
            ),
            Node(
                assign_risk_tiers,
                inputs=[
                    "user_churn_probabilities",
                    "user_monthly_values",
                    "best_model_info",
                    "params:scoring.risk_tiers",
                    "params:scoring.rank_by",
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
