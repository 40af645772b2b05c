"""The project's Spark datasets give kedro-viz a table preview."""

from __future__ import annotations

import inspect

from kedro_datasets._typing import TablePreview

from sparkify_kedro.datasets import SparkDataset


def test_preview_returns_the_first_rows_as_a_table(spark, tmp_path):
    path = str(tmp_path / "users.parquet")
    spark.createDataFrame(
        [("1", 3.5), ("2", None), ("3", 1.0)], "user_id string, score double"
    ).coalesce(1).write.parquet(path)

    preview = SparkDataset(filepath=path).preview(nrows=2)

    assert preview["columns"] == ["user_id", "score"]
    assert preview["data"] == [["1", "3.5"], ["2", None]]


def test_kedro_viz_sees_a_table_preview():
    # kedro-viz picks the preview renderer from the return annotation
    assert inspect.signature(SparkDataset.preview).return_annotation in (
        TablePreview,
        "TablePreview",
    )
