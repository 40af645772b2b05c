"""A versioned Kedro dataset for fitted ``pyspark.ml`` pipelines (kedro-datasets has none)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_protocol_and_path,
)
from pyspark.ml import PipelineModel

from sparkify_kedro.datasets.spark_datasets import SUCCESS_MARKER

# Spark reads S3 through the s3a connector; fsspec (for versions and existence) through s3fs.
_SPARK_TO_FSSPEC_PROTOCOL = {"s3a": "s3"}


class SparkMLModelDataset(AbstractVersionedDataset[PipelineModel, PipelineModel]):
    """A fitted ``pyspark.ml.PipelineModel``, stored by Spark ML's own writer.

    ``save`` calls ``model.write().overwrite().save(path)``; ``load`` calls
    ``PipelineModel.load(path)``, so the model is portable to any Spark job (no pickling).
    With ``versioned: true`` every save goes to ``<filepath>/<version>/<name>`` and earlier
    runs are kept; ``load`` takes the latest unless a version is pinned.

    Spark ML writes a model as many files (metadata, then each stage), so ``save`` adds an
    empty ``_SUCCESS`` file last, as Spark's committer does for tables. A model folder
    without it (a run killed while saving) does not exist for Kedro: ``load`` skips such a
    version and ``kedro run --only-missing-outputs`` saves the model again.
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._spark_prefix = "" if protocol == "file" else f"{protocol}://"
        self._filesystem = fsspec.filesystem(
            _SPARK_TO_FSSPEC_PROTOCOL.get(protocol, protocol), **(credentials or {})
        )
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._is_saved_model,
            glob_function=self._filesystem.glob,
        )
        self.metadata = metadata

    def _is_saved_model(self, path: str) -> bool:
        """Whether a complete model was saved at ``path`` (its ``_SUCCESS`` marker is there)."""
        return self._filesystem.exists(f"{path}/{SUCCESS_MARKER}")

    def _spark_path(self, path: PurePosixPath) -> str:
        return self._spark_prefix + str(path)

    def load(self) -> PipelineModel:
        return PipelineModel.load(self._spark_path(self._get_load_path()))

    def save(self, data: PipelineModel) -> None:
        if not isinstance(data, PipelineModel):
            raise DatasetError(
                f"{type(self).__name__} saves a fitted pyspark.ml PipelineModel, "
                f"got {type(data).__name__}."
            )
        save_path = self._get_save_path()
        data.write().overwrite().save(self._spark_path(save_path))
        self._filesystem.touch(f"{save_path}/{SUCCESS_MARKER}")

    def _exists(self) -> bool:
        try:
            load_path = self._get_load_path()
        except DatasetError:
            return False
        return self._exists_function(str(load_path))

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._spark_path(self._filepath),
            "protocol": self._protocol,
            "version": self._version,
        }
