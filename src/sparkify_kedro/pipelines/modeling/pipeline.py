"""The ``modeling`` pipeline: four classifiers per feature set, rolling-origin evaluation.

One modular pipeline (:func:`feature_set_pipeline`) is instantiated per feature set under
its own Kedro namespace; its parameters (the feature groups) come from
``modeling.feature_sets.<name>`` in ``conf/base/parameters_modeling.yml``.
"""

from kedro.pipeline import Node, Pipeline, pipeline

from sparkify_kedro.pipelines.modeling.measurement import (
    build_best_model_test_curve,
    evaluate_models,
    summarise_model_metrics,
)
from sparkify_kedro.pipelines.modeling.nodes import (
    evaluate_baselines,
    prepare_training_sets,
    refit_best_model,
    select_feature_columns,
    tune_and_evaluate,
)
from sparkify_kedro.pipelines.modeling.rolling_origin import (
    plan_rolling_origin,
    prepare_modeling_rows,
)
from sparkify_kedro.pipelines.modeling.selection import (
    RESULT_KEY_SEPARATOR,
    build_feature_weights,
    collect_model_results,
    collect_test_scores,
    select_best_model,
)

#: Namespaces, one per feature set; their groups are in parameters ``modeling.feature_sets``.
FEATURE_SETS = ("engagement", "engagement_experience", "all")
#: Keys of ``modeling.algorithms`` in the parameters, one node each per feature set.
ALGORITHMS = ("gbt", "random_forest", "logistic_regression", "linear_svc")

_MODELING_ROWS, _SPLIT = "modeling_rows", "modeling_split_summary"


def feature_set_pipeline(feature_set: str) -> Pipeline:
    """Prepare one feature set's training sets, then tune and evaluate every algorithm on
    them, under namespace ``feature_set``."""
    base = Pipeline(
        [
            Node(
                select_feature_columns,
                inputs=[
                    "params:feature_engineering.feature_groups",
                    "params:feature_engineering.categorical_features",
                    "params:feature_set_groups",
                ],
                outputs="feature_columns",
                name="select_feature_columns",
            ),
            Node(
                prepare_training_sets,
                inputs=[
                    _MODELING_ROWS,
                    _SPLIT,
                    "feature_columns",
                    "params:modeling.cross_validation",
                    "params:modeling.query_execution",
                ],
                outputs="training_sets",
                name="prepare_training_sets",
            ),
            *[
                Node(
                    tune_and_evaluate,
                    inputs={
                        "training_sets": "training_sets",
                        "split_summary": _SPLIT,
                        "feature_columns": "feature_columns",
                        "algorithm": f"params:modeling.algorithms.{algorithm}",
                        "cross_validation": "params:modeling.cross_validation",
                        "query_execution": "params:modeling.query_execution",
                    },
                    outputs=[f"{algorithm}_result", f"{algorithm}_test_scores"],
                    name=f"tune_and_evaluate_{algorithm}",
                )
                for algorithm in ALGORITHMS
            ],
        ]
    )
    # Kedro namespaces parameters too: the shared ones keep their names, the feature set's
    # groups come from modeling.feature_sets.<feature_set>.
    shared_parameters = {
        "feature_engineering.feature_groups",
        "feature_engineering.categorical_features",
        "modeling.cross_validation",
        "modeling.query_execution",
        *[f"modeling.algorithms.{algorithm}" for algorithm in ALGORITHMS],
    }
    # Each model's result and test scores leave the namespace under a flat name,
    # <feature_set>__<algorithm>_result: the collecting nodes outside every namespace read
    # them, and Kedro reserves dotted names for a node's own namespace (it warns otherwise).
    exported = {
        f"{algorithm}_{output}": f"{feature_set}{RESULT_KEY_SEPARATOR}{algorithm}_{output}"
        for algorithm in ALGORITHMS
        for output in ("result", "test_scores")
    }
    return pipeline(
        base,
        namespace=feature_set,
        inputs={_MODELING_ROWS, _SPLIT},
        outputs=exported,
        parameters={
            **{name: name for name in shared_parameters},
            "feature_set_groups": f"modeling.feature_sets.{feature_set}",
        },
    )


def create_pipeline(**kwargs) -> Pipeline:
    # Every (feature set, algorithm) result and test scores, by keyword
    # <feature_set>__<algorithm>, the prefix of their dataset names.
    keys = [
        f"{feature_set}{RESULT_KEY_SEPARATOR}{algorithm}"
        for feature_set in FEATURE_SETS
        for algorithm in ALGORITHMS
    ]
    shared = Pipeline(
        [
            Node(
                plan_rolling_origin,
                inputs=[
                    "model_input_table",
                    "params:churn_task.horizon_days",
                    "params:modeling.evaluation.test_cutoffs",
                ],
                outputs=_SPLIT,
                name="plan_rolling_origin",
            ),
            Node(
                prepare_modeling_rows,
                inputs=[
                    "model_input_table",
                    _SPLIT,
                    "params:modeling.cross_validation.num_folds",
                    "params:modeling.training_partitions",
                ],
                outputs=_MODELING_ROWS,
                name="prepare_modeling_rows",
            ),
            Node(
                evaluate_baselines,
                inputs=[_MODELING_ROWS, _SPLIT, "params:modeling.one_rule_feature"],
                outputs=["baseline_results", "baseline_test_scores"],
                name="evaluate_baselines",
            ),
            Node(
                collect_model_results,
                inputs={key: f"{key}_result" for key in keys},
                outputs="model_results",
                name="collect_model_results",
            ),
            Node(
                collect_test_scores,
                inputs={
                    "baseline_test_scores": "baseline_test_scores",
                    **{key: f"{key}_test_scores" for key in keys},
                },
                outputs="test_scores",
                name="collect_test_scores",
            ),
            Node(
                select_best_model,
                inputs=[
                    "model_results",
                    "params:churn_task",
                    "params:feature_engineering",
                ],
                outputs="best_model_choice",
                name="select_best_model",
            ),
            Node(
                evaluate_models,
                inputs=[
                    "test_scores",
                    "model_results",
                    "baseline_results",
                    "best_model_choice",
                    _SPLIT,
                    "params:modeling.evaluation",
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
                inputs="model_results",
                outputs="model_feature_weights",
                name="build_feature_weights",
            ),
            Node(
                build_best_model_test_curve,
                inputs=[
                    "test_scores",
                    "best_model_choice",
                    "params:modeling.test_curve_points",
                ],
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
                summarise_model_metrics,
                inputs=["model_metrics", _SPLIT, "model_comparison"],
                outputs="model_metrics_json",
                name="summarise_model_metrics",
            ),
        ]
    )
    per_feature_set = [feature_set_pipeline(name) for name in FEATURE_SETS]
    return Pipeline([shared, *per_feature_set], tags=["modeling"])
