"""The ``ceiling`` pipeline: the simulator's own churn probabilities against every model."""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.simulation.ceiling.comparison import (
    compare_with_ceiling,
    plot_ceiling_comparison,
)
from sparkify_kedro.pipelines.simulation.ceiling.probabilities import (
    select_origin_rows,
    simulate_churn_probabilities,
)


def create_ceiling_pipeline() -> Pipeline:
    """The best achievable model on a simulated log and each model's distance to it.

    Needs the simulator's parameters and the production outputs (``churn_labels``,
    ``modeling_split_summary``, ``candidate_scores``, ``procedure_test_scores``,
    ``model_metrics``), so it runs after them on a simulated log only: ``demo`` includes
    it, ``__default__`` never does.
    """
    return Pipeline(
        [
            Node(
                select_origin_rows,
                inputs=["churn_labels", "modeling_split_summary"],
                outputs="ceiling_rows",
                name="select_ceiling_rows",
            ),
            Node(
                simulate_churn_probabilities,
                inputs=[
                    "ceiling_rows",
                    "params:simulation",
                    "params:churn_task",
                    "params:simulation.ceiling.futures",
                ],
                outputs="simulated_churn_probabilities",
                name="simulate_churn_probabilities",
            ),
            Node(
                compare_with_ceiling,
                inputs=[
                    "candidate_scores",
                    "procedure_test_scores",
                    "simulated_churn_probabilities",
                    "model_metrics",
                    "params:simulation.ceiling",
                    "calibrated_test_probabilities",
                    "params:modeling.calibration",
                ],
                outputs=["ceiling_comparison", "ceiling_summary"],
                name="compare_with_ceiling",
            ),
            Node(
                plot_ceiling_comparison,
                inputs="ceiling_comparison",
                outputs="ceiling_comparison_plot",
                name="plot_ceiling_comparison",
            ),
        ],
        tags=["ceiling"],
    )
