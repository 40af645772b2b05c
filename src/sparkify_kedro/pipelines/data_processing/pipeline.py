"""The ``data_processing`` pipeline: raw event-log lines to ``clean_events``."""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.data_processing.nodes import (
    build_clean_events,
    build_data_quality_report,
    extract_quarantined_lines,
    parse_event_lines,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                parse_event_lines,
                inputs=["raw_events", "params:data_processing"],
                outputs="parsed_events",
                name="parse_event_lines",
            ),
            Node(
                extract_quarantined_lines,
                inputs="parsed_events",
                outputs="quarantined_events",
                name="extract_quarantined_lines",
            ),
            Node(
                build_clean_events,
                inputs="parsed_events",
                outputs="clean_events",
                name="build_clean_events",
            ),
            Node(
                build_data_quality_report,
                inputs=["parsed_events", "clean_events"],
                outputs="data_quality_report",
                name="build_data_quality_report",
            ),
        ],
        tags=["data_processing"],
    )
