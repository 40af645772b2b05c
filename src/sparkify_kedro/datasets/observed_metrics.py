"""The metrics a Spark action observed on its way, handed to later nodes as a plain dict."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import DatasetError
from pyspark.sql import Observation


class ObservedMetricsDataset(AbstractDataset[Observation, dict[str, Any]]):
    """In memory: saves a ``pyspark.sql.Observation``, loads its metrics as a dict.

    A node returns the observation beside the DataFrame it observes; the write of that
    DataFrame fills it, so a node reading this dataset gets ``{metric: value}`` without
    another pass over the data. It lives for one run: resume from the node that writes it.
    """

    #: Kedro's mark of a dataset that lives for one run: a resumed run makes it again.
    _EPHEMERAL = True

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self._observation: Observation | None = None

    def _save(self, data: Observation) -> None:
        self._observation = data

    def _load(self) -> dict[str, Any]:
        if self._observation is None:
            raise DatasetError(
                "No observed metrics: run the node that writes this dataset first."
            )
        return dict(self._observation.get)

    def _exists(self) -> bool:
        return self._observation is not None

    def _describe(self) -> dict[str, Any]:
        return {"observed": self._observation is not None}
