"""Spark datasets of the project, built on kedro-datasets' ``SparkDataset``."""

from __future__ import annotations

from typing import Any

from kedro.io.core import DatasetError
from kedro_datasets._typing import TablePreview
from kedro_datasets.spark import SparkDataset as _KedroSparkDataset
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def _short_reason(exc: BaseException) -> str:
    """The first line of a Spark/Java error, without the JVM stack trace."""
    text = str(exc).strip()
    if isinstance(exc, Py4JJavaError):
        text = str(exc.java_exception)
    return text.splitlines()[0] if text else type(exc).__name__


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


class SparkDataset(_KedroSparkDataset):
    """kedro-datasets' ``SparkDataset``, plus a ``preview`` of its first rows for kedro-viz."""

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
    """A text file (or folder, or glob) read as one row per line, in a column ``value``.

    Compression (``.gz``, ``.bz2``) is recognised from the file names. Loading fails with one
    clear ``DatasetError`` naming the path when it is missing, unreadable or holds no line,
    instead of a Java stack trace later in the run.
    """

    def __init__(
        self,
        *,
        filepath: str,
        save_args: dict[str, Any] | None = None,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            filepath=filepath,
            file_format="text",
            save_args=save_args,
            credentials=credentials,
            metadata=metadata,
        )

    @property
    def path(self) -> str:
        return self._fs_prefix + str(self._filepath)

    def load(self) -> DataFrame:
        try:
            lines = SparkSession.builder.getOrCreate().read.text(self.path)
            is_empty = lines.isEmpty()
        except (PySparkException, Py4JJavaError) as exc:
            raise DatasetError(
                f"Cannot read the text file(s) at '{self.path}': {_short_reason(exc)}"
            ) from exc
        if is_empty:
            raise DatasetError(
                f"No lines to read at '{self.path}': the file (or every file it matches) "
                f"is empty."
            )
        return lines
