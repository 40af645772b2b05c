"""The ``reporting`` pipeline: tables and figures of the data, the models and the scores,
and the report page, from production datasets only (it runs on a real log)."""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.reporting.figures import (
    plot_churn_rate_by_segment,
    plot_churn_score_distribution,
    plot_cumulative_gains,
    plot_feature_distributions,
    plot_feature_weights,
    plot_model_comparison,
    plot_roc_pr_curves,
)
from sparkify_kedro.pipelines.reporting.page import assemble_report_page_data
from sparkify_kedro.pipelines.reporting.render import FIGURES, render_report_page
from sparkify_kedro.pipelines.reporting.tables import (
    churn_rate_by_segment,
    churn_score_histogram,
    feature_histograms,
    feature_separation,
    summarise_risk,
)

#: The datasets of the ceiling (pipeline ``ceiling``, simulated logs only) the page reads.
CEILING_FIGURE = "ceiling_comparison"


def _data_report() -> Pipeline:
    """Churn by segment and the strongest features, from ``model_input_table``."""
    return Pipeline(
        [
            Node(
                churn_rate_by_segment,
                inputs=["model_input_table", "params:reporting.segments"],
                outputs="churn_rate_by_segment",
                name="compute_churn_rate_by_segment",
            ),
            Node(
                plot_churn_rate_by_segment,
                inputs="churn_rate_by_segment",
                outputs="churn_rate_by_segment_plot",
                name="plot_churn_rate_by_segment",
            ),
            Node(
                feature_separation,
                inputs=[
                    "model_input_table",
                    "params:feature_engineering.feature_groups",
                    "params:feature_engineering.categorical_features",
                ],
                outputs="feature_separation",
                name="rank_features_by_separation",
            ),
            Node(
                feature_histograms,
                inputs=[
                    "model_input_table",
                    "feature_separation",
                    "params:reporting.strongest_features",
                    "params:reporting.histogram_bins",
                ],
                outputs="strongest_feature_histograms",
                name="bin_strongest_features",
            ),
            Node(
                plot_feature_distributions,
                inputs="strongest_feature_histograms",
                outputs="feature_distributions_plot",
                name="plot_feature_distributions",
            ),
        ],
        tags=["data_report"],
    )


def _model_report() -> Pipeline:
    """Model comparison (validation and test figures); the choosing procedure's test
    curves and gains; the deployed model's weights (from ``modeling``)."""
    return Pipeline(
        [
            Node(
                plot_model_comparison,
                inputs="model_metrics",
                outputs="model_comparison_plot",
                name="plot_model_comparison",
            ),
            Node(
                plot_roc_pr_curves,
                inputs=["best_model_test_curve", "best_model_info"],
                outputs="roc_pr_curves_plot",
                name="plot_roc_pr_curves",
            ),
            Node(
                plot_cumulative_gains,
                inputs="best_model_test_curve",
                outputs="cumulative_gains_plot",
                name="plot_cumulative_gains",
            ),
            Node(
                plot_feature_weights,
                inputs=[
                    "model_feature_weights",
                    "best_model_info",
                    "params:reporting.top_feature_weights",
                ],
                outputs="feature_weights_plot",
                name="plot_best_model_feature_weights",
            ),
        ],
        tags=["model_report"],
    )


def _score_report() -> Pipeline:
    """The distribution of the churn scores of the users at risk."""
    return Pipeline(
        [
            Node(
                churn_score_histogram,
                inputs=["churn_scores", "params:reporting.score_bins"],
                outputs="churn_score_histogram",
                name="bin_churn_scores",
            ),
            Node(
                plot_churn_score_distribution,
                inputs="churn_score_histogram",
                outputs="churn_score_distribution_plot",
                name="plot_churn_score_distribution",
            ),
        ],
        tags=["score_report"],
    )


def create_report_page_pipeline(with_ceiling: bool = False) -> Pipeline:
    """The report page: its data (a dict), then its HTML, from the run's reports.

    ``with_ceiling`` adds the ceiling's summary and figure (``ceiling_summary``,
    ``ceiling_comparison_plot``): only a simulated log has them, so only ``demo`` builds
    the page this way, after the ``ceiling`` pipeline (pipeline_registry.py). Without it
    (``__default__``, ``reporting`` alone), the page says that no ceiling was measured.
    """
    ceiling = {"ceiling_summary": "ceiling_summary"} if with_ceiling else {}
    figures = [name for name, _ in FIGURES if with_ceiling or name != CEILING_FIGURE]
    return Pipeline(
        [
            Node(
                summarise_risk,
                inputs=[
                    "churn_scores",
                    "params:reporting.report_page.top_users",
                    "params:scoring.revenue",
                ],
                outputs="risk_summary",
                name="summarise_risk",
            ),
            Node(
                assemble_report_page_data,
                inputs={
                    "best_model_info": "best_model_info",
                    "model_metrics": "model_metrics",
                    "model_comparison": "model_comparison",
                    "split_summary": "modeling_split_summary",
                    "log_span": "log_span",
                    "data_quality_report": "data_quality_report",
                    "risk_summary": "risk_summary",
                    "probability_calibration": "probability_calibration",
                    **ceiling,
                },
                outputs="report_page_data",
                name="assemble_report_page_data",
            ),
            Node(
                render_report_page,
                inputs={
                    "page": "report_page_data",
                    **{name: f"{name}_plot" for name in figures},
                },
                outputs="report_page",
                name="render_report_page",
            ),
        ],
        tags=["report_page", "reporting"],
    )


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            _data_report(),
            _model_report(),
            _score_report(),
            create_report_page_pipeline(),
        ],
        tags=["reporting"],
    )
