"""The ``data_processing`` pipeline: raw event-log lines to ``clean_events``.

The raw text is parsed once: ``event_lines`` stays a lazy DataFrame, and the write of
``kept_events`` is the one pass over it, observing the books on the way (``line_books``,
``clean_event_profile``) for the quarantine and the report. ``kept_events`` and
``clean_events`` are the same files: ``drop_duplicate_events`` rewrites only the days that
hold an exact duplicate (none, on a usual log).
"""

from kedro.pipeline import Node, Pipeline

from sparkify_kedro.pipelines.data_processing.nodes import (
    build_clean_events,
    build_data_quality_report,
    drop_duplicate_events,
    extract_quarantined_lines,
    parse_event_lines,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                parse_event_lines,
                inputs=["raw_events", "params:data_processing"],
                outputs="event_lines",
                name="parse_event_lines",
            ),
            Node(
                build_clean_events,
                inputs="event_lines",
                outputs=["kept_events", "line_books", "clean_event_profile"],
                name="build_clean_events",
            ),
            Node(
                drop_duplicate_events,
                inputs=["kept_events", "clean_event_profile"],
                outputs=["clean_events", "duplicate_events"],
                name="drop_duplicate_events",
            ),
            Node(
                extract_quarantined_lines,
                inputs=["event_lines", "line_books"],
                outputs="quarantined_events",
                name="extract_quarantined_lines",
            ),
            Node(
                build_data_quality_report,
                inputs=[
                    "line_books",
                    "clean_event_profile",
                    "duplicate_events",
                    "clean_events",
                ],
                outputs="data_quality_report",
                name="build_data_quality_report",
            ),
        ],
        tags=["data_processing"],
    )
