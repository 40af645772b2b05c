"""``kedro viz build --include-previews`` shows Spark tables and plotly charts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def previews(viz_site) -> dict[str, dict]:
    """Dataset name -> its node metadata in the site built with previews."""
    main = json.loads((viz_site / "api" / "main").read_text())
    return {
        node["name"]: json.loads((viz_site / "api" / "nodes" / node["id"]).read_text())
        for node in main["nodes"]
        if node["type"] == "data"
        and (Path(viz_site / "api" / "nodes" / node["id"])).is_file()
    }


def test_a_spark_dataset_is_previewed_as_a_table(previews):
    clean_events = previews["clean_events"]
    assert clean_events["preview_type"] == "TablePreview"
    assert clean_events["preview"]["columns"][:2] == ["ts", "user_id"]
    assert len(clean_events["preview"]["data"]) == 6  # the sample's six kept events


def test_a_plotly_chart_is_previewed(previews):
    chart = previews["churn_rate_by_segment_plot"]
    assert chart["preview_type"] == "PlotlyPreview"
    assert chart["preview"]["data"][0]["type"] == "bar"
