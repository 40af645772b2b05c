"""The project's Kedro datasets."""

from sparkify_kedro.datasets.spark_datasets import SparkDataset, SparkTextLinesDataset

__all__ = ["SparkDataset", "SparkTextLinesDataset"]
