"""The ``modeling`` pipeline: every candidate fitted at every rolling origin it reaches,
chosen on the out-of-time scores, the choosing procedure tested, the choice refitted.

Feature sets, algorithms, grids and the simplicity order all come from
``conf/base/parameters_modeling.yml``: adding a feature set or a grid point changes no code.
"""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.modeling.calibration import fit_probability_calibration
from sparkify_kedro.pipelines.modeling.choice import (
    replay_choice_procedure,
    select_best_model,
)
from sparkify_kedro.pipelines.modeling.deployment import (
    build_feature_weights,
    profile_training_features,
    refit_best_model,
)
from sparkify_kedro.pipelines.modeling.measurement import (
    build_best_model_test_curve,
    evaluate_models,
    summarise_model_metrics,
)
from sparkify_kedro.pipelines.modeling.mlflow_records import (
    best_model_for_mlflow,
    model_metrics_for_mlflow,
)
from sparkify_kedro.pipelines.modeling.nodes import (
    list_candidates,
    prepare_origin_sets,
    race_candidates,
    score_baselines,
)
from sparkify_kedro.pipelines.modeling.rolling_origin import (
    plan_rolling_origin,
    prepare_modeling_rows,
)

_ROWS, _SPLIT = "modeling_rows", "modeling_split_summary"
_EVALUATION = "params:modeling.evaluation"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                plan_rolling_origin,
                inputs=[
                    "model_input_table",
                    "params:churn_task.horizon_days",
                    "params:modeling.rolling_origin.max_origins",
                ],
                outputs=_SPLIT,
                name="plan_rolling_origin",
            ),
            Node(
                prepare_modeling_rows,
                inputs=[
                    "model_input_table",
                    _SPLIT,
                    "params:modeling.training_partitions",
                ],
                outputs=_ROWS,
                name="prepare_modeling_rows",
            ),
            Node(
                list_candidates,
                inputs=[
                    "params:feature_engineering.feature_groups",
                    "params:feature_engineering.categorical_features",
                    "params:modeling.feature_sets",
                    "params:modeling.algorithms",
                    "params:modeling.choice.simplicity_order",
                    "params:modeling.one_rule_feature",
                ],
                outputs="model_candidates",
                name="list_candidates",
            ),
            Node(
                prepare_origin_sets,
                inputs=[
                    _ROWS,
                    _SPLIT,
                    "model_candidates",
                    "params:modeling.parallelism",
                    "params:modeling.query_execution",
                ],
                outputs="origin_training_sets",
                name="prepare_origin_sets",
            ),
            Node(
                score_baselines,
                inputs=[_ROWS, _SPLIT, "model_candidates"],
                outputs="baseline_scores",
                name="score_baselines",
            ),
            Node(
                race_candidates,
                inputs=[
                    "origin_training_sets",
                    "baseline_scores",
                    _SPLIT,
                    "model_candidates",
                    "params:modeling.rolling_origin",
                    "params:modeling.parallelism",
                    "params:modeling.query_execution",
                ],
                outputs="candidate_scores",
                name="race_candidates",
            ),
            Node(
                select_best_model,
                inputs=[
                    "candidate_scores",
                    "model_candidates",
                    _SPLIT,
                    _EVALUATION,
                    "params:churn_task",
                    "params:feature_engineering",
                ],
                outputs="best_model_choice",
                name="select_best_model",
            ),
            Node(
                replay_choice_procedure,
                inputs=["candidate_scores", "model_candidates", _SPLIT, _EVALUATION],
                outputs="procedure_test_scores",
                name="replay_choice_procedure",
            ),
            Node(
                build_best_model_test_curve,
                inputs=["procedure_test_scores", "params:modeling.test_curve_points"],
                outputs="best_model_test_curve",
                name="build_best_model_test_curve",
            ),
            Node(
                refit_best_model,
                inputs=[
                    "model_input_table",
                    "best_model_choice",
                    "params:modeling.training_partitions",
                    "params:modeling.query_execution",
                ],
                outputs="best_model",
                name="refit_best_model",
            ),
            Node(
                fit_probability_calibration,
                inputs=[
                    "candidate_scores",
                    "best_model_choice",
                    "best_model",
                    _SPLIT,
                    "params:modeling.calibration",
                ],
                outputs=["probability_calibration", "calibrated_test_probabilities"],
                name="fit_probability_calibration",
            ),
            Node(
                profile_training_features,
                inputs=[
                    "model_input_table",
                    "best_model_choice",
                    "params:modeling.feature_profile.bins",
                ],
                outputs="training_feature_profile",
                name="profile_training_features",
            ),
            Node(
                evaluate_models,
                inputs=[
                    "candidate_scores",
                    "procedure_test_scores",
                    "model_candidates",
                    "best_model_choice",
                    _SPLIT,
                    _EVALUATION,
                    "probability_calibration",
                    "training_feature_profile",
                ],
                outputs=[
                    "model_metrics",
                    "rolling_origin_metrics",
                    "model_comparison",
                    "best_model_info",
                ],
                name="evaluate_models",
            ),
            Node(
                build_feature_weights,
                inputs=["best_model", "best_model_choice", "model_input_table"],
                outputs="model_feature_weights",
                name="build_feature_weights",
            ),
            Node(
                summarise_model_metrics,
                inputs=["model_metrics", _SPLIT, "model_comparison"],
                outputs="model_metrics_json",
                name="summarise_model_metrics",
            ),
            Node(
                model_metrics_for_mlflow,
                inputs="model_metrics",
                outputs="mlflow_model_metrics",
                name="log_model_metrics_to_mlflow",
            ),
            Node(
                best_model_for_mlflow,
                inputs="best_model",
                outputs="mlflow_best_model",
                name="log_best_model_to_mlflow",
            ),
        ],
        tags=["modeling"],
    )
