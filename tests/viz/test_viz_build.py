"""``kedro viz build`` writes a static site that shows the project's pipelines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kedro_helpers import PROJECT_ROOT


@pytest.fixture(scope="module")
def viz_site(tmp_path_factory) -> Path:
    """The project copied to a temporary folder and ``kedro viz build`` run there."""
    project = tmp_path_factory.mktemp("viz_project")
    for item in ("conf", "src", "pyproject.toml", ".telemetry"):
        source = PROJECT_ROOT / item
        if source.is_dir():
            shutil.copytree(source, project / item)
        else:
            shutil.copy(source, project / item)
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "PYTHONPATH": str(project / "src"),
    }
    kedro = Path(sys.executable).with_name("kedro")
    result = subprocess.run(
        [str(kedro), "viz", "build"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return project / "build"


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
        "parsed_events",
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
