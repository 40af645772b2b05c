"""Small file outputs are written to a temporary file and renamed: never left torn."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pytest
from kedro.io.core import DatasetError, Version

from sparkify_kedro.datasets import (
    CSVDataset,
    JSONDataset,
    PlotlyJSONDataset,
    TextDataset,
)


class _NotSerialisable:
    pass


def test_a_write_that_fails_half_way_leaves_the_previous_file_whole(tmp_path):
    path = tmp_path / "report.json"
    dataset = JSONDataset(filepath=str(path))
    dataset.save({"run": 1})
    # json.dump writes '{"run": 2, "detail": ' and then fails on the object
    with pytest.raises(DatasetError, match="not JSON serializable"):
        dataset.save({"run": 2, "detail": _NotSerialisable()})
    assert json.loads(path.read_text()) == {"run": 1}
    assert [child.name for child in tmp_path.iterdir()] == ["report.json"]


def test_a_first_write_that_fails_leaves_no_file(tmp_path):
    dataset = JSONDataset(filepath=str(tmp_path / "report.json"))
    with pytest.raises(DatasetError):
        dataset.save({"detail": _NotSerialisable()})
    assert list(tmp_path.iterdir()) == []


def test_every_small_file_dataset_round_trips_under_its_final_name(tmp_path):
    frame = pd.DataFrame({"user_id": ["1", "2"], "score": [0.25, 0.75]})
    CSVDataset(filepath=str(tmp_path / "scores.csv"), save_args={"index": False}).save(
        frame
    )
    figure = go.Figure(go.Bar(x=["a"], y=[1]))
    PlotlyJSONDataset(filepath=str(tmp_path / "figure.json")).save(figure)
    utf8 = {
        "open_args_load": {"encoding": "utf-8"},
        "open_args_save": {"encoding": "utf-8"},
    }
    page = TextDataset(filepath=str(tmp_path / "page.html"), fs_args=utf8)
    page.save("<p>Zoë’s page</p>")
    assert sorted(child.name for child in tmp_path.iterdir()) == [
        "figure.json",
        "page.html",
        "scores.csv",
    ]
    assert page.load() == "<p>Zoë’s page</p>"
    loaded = CSVDataset(
        filepath=str(tmp_path / "scores.csv"), load_args={"dtype": {"user_id": str}}
    ).load()
    pd.testing.assert_frame_equal(loaded, frame)
    assert PlotlyJSONDataset(filepath=str(tmp_path / "figure.json")).load() == figure


def test_a_versioned_file_is_renamed_into_its_version_folder(tmp_path):
    path = tmp_path / "info.json"
    JSONDataset(
        filepath=str(path), version=Version(None, "2026-11-29T00.00.00.000Z")
    ).save({"model": "lr"})
    version_folder = path / "2026-11-29T00.00.00.000Z"
    assert [child.name for child in version_folder.iterdir()] == ["info.json"]
    assert JSONDataset(filepath=str(path), version=Version(None, None)).load() == {
        "model": "lr"
    }
