"""Spark datasets of the project, built on kedro-datasets' ``SparkDataset``."""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from kedro.io.core import DatasetError
from kedro_datasets._typing import TablePreview
from kedro_datasets.spark import SparkDataset as _KedroSparkDataset
from kedro_datasets.spark.spark_dataset import strip_dbfs_prefix
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from sparkify_kedro.spark_errors import explained_read_failures, first_line

logger = logging.getLogger(__name__)

#: The empty file Spark's output committer writes last, once every task's output is in place.
SUCCESS_MARKER = "_SUCCESS"


def _session_for_previews() -> SparkSession:
    """The running SparkSession, or a small local one on 127.0.0.1 with the UI off.

    kedro-viz builds previews without the project's hooks, so no session may exist yet.
    """
    return SparkSession.getActiveSession() or (
        SparkSession.builder.master("local[1]")
        .appName("sparkify-kedro-preview")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


class WriteState(Enum):
    """Where a Spark write of a path stands, as its file system shows it."""

    MISSING = "missing"  # nothing at the path
    COMPLETE = "complete"  # a plain file, or a folder holding Spark's _SUCCESS marker
    # a folder without the marker, with Spark's _temporary/ folder: killed before its commit
    INTERRUPTED = "interrupted"
    # a folder without the marker or _temporary/: killed during its commit, or not Spark's
    UNMARKED = "unmarked"

    @property
    def unfinished(self) -> bool:
        """A folder whose write was never committed (whatever the reason)."""
        return self in (WriteState.INTERRUPTED, WriteState.UNMARKED)


def _hadoop_path(path: str) -> tuple[Any, Any]:
    """``path`` as a Hadoop ``Path`` and the ``FileSystem`` that holds it (any scheme:
    ``file://``, ``hdfs://``, ``s3a://`` ..., with the SparkSession's credentials)."""
    spark = SparkSession.builder.getOrCreate()
    hadoop_path = spark._jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path, hadoop_path.getFileSystem(
        spark.sparkContext._jsc.hadoopConfiguration()
    )


def write_state(path: str) -> WriteState:
    """The :class:`WriteState` of ``path``, through Hadoop's file system API."""
    hadoop_path, filesystem = _hadoop_path(path)

    def holds(name: str) -> bool:
        return filesystem.exists(_hadoop_path(f"{path}/{name}")[0])

    if not filesystem.exists(hadoop_path):
        return WriteState.MISSING
    if filesystem.getFileStatus(hadoop_path).isFile() or holds(SUCCESS_MARKER):
        return WriteState.COMPLETE
    return WriteState.INTERRUPTED if holds("_temporary") else WriteState.UNMARKED


def _incomplete_message(path: str) -> str:
    return (
        f"'{path}' is incomplete: it has no {SUCCESS_MARKER} marker, so the run that wrote "
        f"it stopped half-way. Run the node that writes it again (for example "
        f"`kedro run --only-missing-outputs`)."
    )


class SparkDataset(_KedroSparkDataset):
    """kedro-datasets' ``SparkDataset`` that never mistakes a half-written folder for data.

    Spark's output committer adds ``_SUCCESS`` last; a folder without it is what a run
    killed during the write leaves behind, so:

    * ``exists()`` is False for it: ``kedro run --only-missing-outputs`` writes it again;
    * ``load()`` refuses it with a ``DatasetError`` instead of reading part of the rows.

    Delta tables keep kedro-datasets' behaviour (their transaction log is the commit). Keep
    Hadoop's ``mapreduce.fileoutputcommitter.marksuccessfuljobs`` at its default (true):
    without markers every folder would look unfinished.

    Adds a ``preview`` of the first rows for kedro-viz.
    """

    @property
    def path(self) -> str:
        """The path Spark reads, with its scheme (``s3a://...``) if it has one."""
        return strip_dbfs_prefix(self._fs_prefix + str(self._get_load_path()))

    def saved_rows(self) -> int | None:
        """The rows of the saved dataset, summed from its Parquet files' footers (no Spark
        job); ``None`` for another format or a remote path."""
        if self._file_format != "parquet" or "://" in self.path:
            return None
        files = Path(self.path).rglob("*.parquet")
        return sum(pq.read_metadata(file).num_rows for file in files)

    def load(self) -> DataFrame:
        if self._file_format != "delta" and write_state(self.path).unfinished:
            raise DatasetError(_incomplete_message(self.path))
        return super().load()

    def save(self, data: DataFrame) -> None:
        """Write ``data``; an input file that cannot be read to its end is one clear error."""
        with explained_read_failures():
            super().save(data)

    def _exists(self) -> bool:
        if self._file_format == "delta":
            return super()._exists()
        state = write_state(self.path)
        if state.unfinished:
            logger.warning(
                "'%s' has no %s marker (a write stopped half-way): treated as missing.",
                self.path,
                SUCCESS_MARKER,
            )
        return state is WriteState.COMPLETE

    def preview(self, nrows: int = 10) -> TablePreview:
        """The first ``nrows`` rows as a table (``{"columns": [...], "data": [[...]]}``)."""
        _session_for_previews()
        frame = self.load()
        rows = (
            frame.select([F.col(name).cast("string") for name in frame.columns])
            .limit(nrows)
            .collect()
        )
        return TablePreview(
            {
                "index": list(range(len(rows))),
                "columns": frame.columns,
                "data": [list(row) for row in rows],
            }
        )


class SparkTextLinesDataset(SparkDataset):
    """Text files read as one row per line: columns ``value`` and ``source_file``.

    ``filepath`` is a file, a folder or a glob. A folder is read recursively: every file
    under it, at any depth, except hidden ones (names starting with ``.`` or ``_``: Hadoop's
    checksums, Spark's markers), as Spark does. Compression (``.gz``, ``.bz2``) is
    recognised from the file names. ``source_file`` is the full path of the line's file.

    Loading fails with one clear ``DatasetError`` naming the path when nothing is there,
    when no file holds a line, or when a file cannot be read to its end. A folder is read
    whether or not Spark wrote it (event logs come from elsewhere), unless Spark's
    ``_temporary`` folder shows a write killed half-way; ``exists()`` asks for Spark's
    ``_SUCCESS`` marker. Saving writes the ``value`` column.
    """

    def __init__(self, *, filepath: str, **kwargs: Any) -> None:
        super().__init__(filepath=filepath, file_format="text", **kwargs)

    def load(self) -> DataFrame:
        hadoop_path, filesystem = _hadoop_path(self.path)
        if not filesystem.globStatus(hadoop_path):
            raise DatasetError(
                f"Nothing to read at '{self.path}': no such file or folder."
            )
        if write_state(self.path) is WriteState.INTERRUPTED:
            raise DatasetError(_incomplete_message(self.path))
        try:
            with explained_read_failures():
                lines = (
                    SparkSession.builder.getOrCreate()
                    .read.option("recursiveFileLookup", "true")
                    .text(self.path)
                    .select("value", F.col("_metadata.file_path").alias("source_file"))
                )
                is_empty = lines.isEmpty()
        except (PySparkException, Py4JJavaError) as exc:
            raise DatasetError(
                f"Cannot read the text file(s) at '{self.path}': {first_line(exc)}"
            ) from exc
        if is_empty:
            raise DatasetError(
                f"No lines to read at '{self.path}': the file (or every file it matches) "
                f"is empty."
            )
        return lines

    def save(self, data: DataFrame) -> None:
        super().save(data.select("value"))
