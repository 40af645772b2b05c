"""The ``modeling`` pipeline: four classifiers per feature set, evaluated out of time.

One modular pipeline (:func:`feature_set_pipeline`) is instantiated per feature set under
its own Kedro namespace; its parameters (the feature groups) come from
``modeling.feature_sets.<name>`` in ``conf/base/parameters_modeling.yml``.
"""

from kedro.pipeline import Node, Pipeline, pipeline

from sparkify_kedro.pipelines.modeling.nodes import (
    RESULT_KEY_SEPARATOR,
    build_feature_weights,
    build_model_metrics,
    collect_model_results,
    evaluate_baselines,
    prepare_training_rows,
    refit_best_model,
    select_best_model,
    select_best_model_test_curve,
    select_feature_columns,
    split_out_of_time,
    summarise_model_metrics,
    tune_and_evaluate,
)

#: Namespaces, one per feature set; their groups are in parameters ``modeling.feature_sets``.
FEATURE_SETS = ("engagement", "engagement_experience", "all")
#: Keys of ``modeling.algorithms`` in the parameters, one node each per feature set.
ALGORITHMS = ("gbt", "random_forest", "logistic_regression", "linear_svc")

_TRAINING_ROWS, _TEST_ROWS = "modeling_training_rows", "modeling_test_rows"


def feature_set_pipeline(feature_set: str) -> Pipeline:
    """Tune and evaluate every algorithm on one feature set, under namespace ``feature_set``."""
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
            *[
                Node(
                    tune_and_evaluate,
                    inputs={
                        "train_rows": _TRAINING_ROWS,
                        "test_rows": _TEST_ROWS,
                        "feature_columns": "feature_columns",
                        "algorithm": f"params:modeling.algorithms.{algorithm}",
                        "cross_validation": "params:modeling.cross_validation",
                        "test_curve_points": "params:modeling.test_curve_points",
                    },
                    outputs=f"{algorithm}_result",
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
        "modeling.test_curve_points",
        *[f"modeling.algorithms.{algorithm}" for algorithm in ALGORITHMS],
    }
    return pipeline(
        base,
        namespace=feature_set,
        inputs={_TRAINING_ROWS, _TEST_ROWS},
        parameters={
            **{name: name for name in shared_parameters},
            "feature_set_groups": f"modeling.feature_sets.{feature_set}",
        },
    )


def create_pipeline(**kwargs) -> Pipeline:
    # Every (feature set, algorithm) result, by keyword <feature_set>__<algorithm>.
    every_result = {
        f"{feature_set}{RESULT_KEY_SEPARATOR}{algorithm}": f"{feature_set}.{algorithm}_result"
        for feature_set in FEATURE_SETS
        for algorithm in ALGORITHMS
    }
    shared = Pipeline(
        [
            Node(
                split_out_of_time,
                inputs=["model_input_table", "params:churn_labeling.horizon_days"],
                outputs=["modeling_train_rows", _TEST_ROWS, "modeling_split_summary"],
                name="split_out_of_time",
            ),
            Node(
                prepare_training_rows,
                inputs=[
                    "modeling_train_rows",
                    "params:modeling.cross_validation.num_folds",
                    "params:modeling.training_partitions",
                ],
                outputs=_TRAINING_ROWS,
                name="prepare_training_rows",
            ),
            Node(
                evaluate_baselines,
                inputs=[
                    _TRAINING_ROWS,
                    _TEST_ROWS,
                    "params:modeling.one_rule_feature",
                ],
                outputs="baseline_results",
                name="evaluate_baselines",
            ),
            Node(
                collect_model_results,
                inputs=every_result,
                outputs="model_results",
                name="collect_model_results",
            ),
            Node(
                build_model_metrics,
                inputs=["baseline_results", "model_results"],
                outputs="model_metrics",
                name="build_model_metrics",
            ),
            Node(
                build_feature_weights,
                inputs="model_results",
                outputs="model_feature_weights",
                name="build_feature_weights",
            ),
            Node(
                select_best_model,
                inputs="model_results",
                outputs="best_model_info",
                name="select_best_model",
            ),
            Node(
                select_best_model_test_curve,
                inputs="model_results",
                outputs="best_model_test_curve",
                name="select_best_model_test_curve",
            ),
            Node(
                refit_best_model,
                inputs=[
                    "model_input_table",
                    "best_model_info",
                    "params:modeling.training_partitions",
                ],
                outputs="best_model",
                name="refit_best_model",
            ),
            Node(
                summarise_model_metrics,
                inputs=["model_metrics", "modeling_split_summary", "best_model_info"],
                outputs="model_metrics_json",
                name="summarise_model_metrics",
            ),
        ]
    )
    per_feature_set = [feature_set_pipeline(name) for name in FEATURE_SETS]
    return Pipeline([shared, *per_feature_set], tags=["modeling"])
