"""``kedro viz build`` writes a static site that shows the project's pipelines."""

from __future__ import annotations

import json

from tests.kedro_helpers import LAYERS


def test_the_site_lists_the_data_processing_nodes_and_datasets(viz_site):
    assert (viz_site / "index.html").is_file()
    main = json.loads((viz_site / "api" / "main").read_text())
    assert "data_processing" in {pipeline["id"] for pipeline in main["pipelines"]}
    tasks = {node["name"] for node in main["nodes"] if node["type"] == "task"}
    datasets = {node["name"]: node for node in main["nodes"] if node["type"] == "data"}
    assert {
        "parse_event_lines",
        "extract_quarantined_lines",
        "build_clean_events",
        "build_data_quality_report",
    } <= tasks
    assert {
        "raw_events",
        "event_lines",
        "line_books",
        "quarantined_events",
        "clean_events",
        "data_quality_report",
    } <= set(datasets)
    assert datasets["raw_events"]["layer"] == "raw"
    assert datasets["clean_events"]["layer"] == "primary"


def test_the_data_processing_pipeline_has_its_own_view(viz_site):
    view = json.loads((viz_site / "api" / "pipelines" / "data_processing").read_text())
    tasks = {node["name"] for node in view["nodes"] if node["type"] == "task"}
    assert "parse_event_lines" in tasks


def test_every_dataset_sits_in_a_layer(viz_site):
    main = json.loads((viz_site / "api" / "main").read_text())
    without_layer = [
        node["name"]
        for node in main["nodes"]
        if node["type"] == "data" and not node["layer"]
    ]
    assert without_layer == []
    assert main["layers"] == LAYERS
