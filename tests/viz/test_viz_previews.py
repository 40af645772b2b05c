"""``kedro viz build --include-previews`` shows Spark tables and plotly charts."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import pytest

from tests.kedro_helpers import FIXTURES, kedro_session, run_pipeline
from tests.viz.conftest import build_viz_site


@pytest.fixture(scope="module")
def previews(spark, tmp_path_factory) -> dict[str, dict]:
    """Dataset name -> its node metadata in a site built with previews over real outputs."""
    data_root = tmp_path_factory.mktemp("viz_data")
    run_pipeline(
        "data_processing",
        data_root,
        {"raw_events_path": str(FIXTURES / "sample_events.jsonl")},
    )
    with kedro_session(data_root) as session:
        session.load_context().catalog.save(
            "churn_rate_by_segment_plot",
            go.Figure(go.Bar(x=["free", "paid"], y=[0.2, 0.1])),
        )
    site = build_viz_site(
        tmp_path_factory.mktemp("viz_previews_project"),
        "--include-previews",
        data_root=data_root,
    )
    main = json.loads((site / "api" / "main").read_text())
    return {
        node["name"]: json.loads((site / "api" / "nodes" / node["id"]).read_text())
        for node in main["nodes"]
        if node["type"] == "data"
        and (Path(site / "api" / "nodes" / node["id"])).is_file()
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
