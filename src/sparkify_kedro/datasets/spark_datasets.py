"""Spark datasets of the project, built on kedro-datasets' ``SparkDataset``."""

from __future__ import annotations

from typing import Any

from kedro.io.core import DatasetError
from kedro_datasets.spark import SparkDataset as _KedroSparkDataset
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from py4j.protocol import Py4JJavaError


def _short_reason(exc: BaseException) -> str:
    """The first line of a Spark/Java error, without the JVM stack trace."""
    text = str(exc).strip()
    if isinstance(exc, Py4JJavaError):
        text = str(exc.java_exception)
    return text.splitlines()[0] if text else type(exc).__name__


class SparkDataset(_KedroSparkDataset):
    """kedro-datasets' ``SparkDataset``, plus a ``preview`` of its first rows for kedro-viz."""

    def preview(self, nrows: int = 10) -> dict[str, Any]:
        """The first ``nrows`` rows as a table (``{"columns": [...], "data": [[...]]}``)."""
        frame = self.load().limit(nrows).toPandas()
        return {
            "index": list(range(len(frame))),
            "columns": [str(column) for column in frame.columns],
            "data": frame.astype(str).values.tolist(),
        }


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
