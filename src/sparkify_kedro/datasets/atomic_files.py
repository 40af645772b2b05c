"""kedro-datasets' small file datasets, written so that a killed write leaves no torn file.

``json.JSONDataset``, ``pandas.CSVDataset``, ``plotly.JSONDataset`` and ``text.TextDataset`` open the target and
write into it: a run killed mid-write leaves a truncated file under the final name, which
the next stage reads as if it were complete. These subclasses write to a hidden temporary
file beside the target and rename it into place once it is complete (an atomic rename on a
local or HDFS file system; on an object store the object appears whole or not at all).
"""

from __future__ import annotations

import inspect
import uuid
from pathlib import PurePosixPath
from typing import Any

from kedro.io.core import get_filepath_str
from kedro_datasets.json import JSONDataset as _JSONDataset
from kedro_datasets.pandas import CSVDataset as _CSVDataset
from kedro_datasets.plotly import JSONDataset as _PlotlyJSONDataset
from kedro_datasets.text import TextDataset as _TextDataset


class _WriteThenRename:
    """Mixin for a kedro-datasets file dataset whose ``save`` writes to ``_get_save_path()``."""

    _fs: Any
    _protocol: str
    _writing_to: PurePosixPath | None = None

    def _get_save_path(self) -> PurePosixPath:
        return self._writing_to or super()._get_save_path()  # type: ignore[misc]

    def save(self, data: Any) -> None:
        final_path = self._get_save_path()
        self._writing_to = final_path.with_name(
            f".{final_path.name}.{uuid.uuid4().hex}.partial"
        )
        partial = get_filepath_str(self._writing_to, self._protocol)
        # the parent's own writing code, without Kedro's wrappers around it (the versioned
        # one would look for the version before it is renamed into place)
        write = inspect.unwrap(super().save.__func__)  # type: ignore[misc]
        try:
            write(self, data)
            self._fs.mv(partial, get_filepath_str(final_path, self._protocol))
        finally:
            self._writing_to = None
            if self._fs.exists(partial):
                self._fs.rm(partial)


class JSONDataset(_WriteThenRename, _JSONDataset):
    """``json.JSONDataset``, written to a temporary file and renamed into place."""


class CSVDataset(_WriteThenRename, _CSVDataset):
    """``pandas.CSVDataset``, written to a temporary file and renamed into place."""


class PlotlyJSONDataset(_WriteThenRename, _PlotlyJSONDataset):
    """``plotly.JSONDataset``, written to a temporary file and renamed into place."""


class TextDataset(_WriteThenRename, _TextDataset):
    """``text.TextDataset``, written to a temporary file and renamed into place."""
