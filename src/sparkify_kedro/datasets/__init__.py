"""The project's Kedro datasets."""

from sparkify_kedro.datasets.atomic_files import (
    CSVDataset,
    JSONDataset,
    PlotlyJSONDataset,
    TextDataset,
)
from sparkify_kedro.datasets.observed_metrics import ObservedMetricsDataset
from sparkify_kedro.datasets.spark_datasets import SparkDataset, SparkTextLinesDataset
from sparkify_kedro.datasets.spark_ml_dataset import SparkMLModelDataset

__all__ = [
    "CSVDataset",
    "JSONDataset",
    "ObservedMetricsDataset",
    "PlotlyJSONDataset",
    "SparkDataset",
    "SparkMLModelDataset",
    "SparkTextLinesDataset",
    "TextDataset",
]
