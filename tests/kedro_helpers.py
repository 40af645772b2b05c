"""Run the project's pipelines and read its datasets through a real KedroSession."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from kedro.framework.project import configure_logging
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.runner import SequentialRunner

from sparkify_kedro.known_warnings import ignore_known_warnings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The hand-written sample log (12 lines, every dialect and kind of line; its expected books
#: are in tests/pipelines/data_processing/test_pipeline.py).
SAMPLE_LOG = FIXTURES / "sample_events.jsonl"
#: The project's data layers (kedro-viz), in the order data flows through them.
LAYERS = [
    "raw",
    "intermediate",
    "primary",
    "feature",
    "model_input",
    "models",
    "model_output",
    "reporting",
]


@contextmanager
def kedro_session(
    data_root: Path,
    runtime_params: dict[str, Any] | None = None,
    env: str | None = None,
) -> Iterator[KedroSession]:
    """A KedroSession of this project whose datasets all live under ``data_root``."""
    bootstrap_project(PROJECT_ROOT)
    previous = os.environ.get("SPARKIFY_DATA_ROOT")
    os.environ["SPARKIFY_DATA_ROOT"] = str(data_root)
    try:
        with KedroSession.create(
            project_path=PROJECT_ROOT, env=env, runtime_params=runtime_params or {}
        ) as session:
            yield session
    finally:
        if previous is None:
            os.environ.pop("SPARKIFY_DATA_ROOT", None)
        else:
            os.environ["SPARKIFY_DATA_ROOT"] = previous


def run_pipeline(
    pipeline_name: str, data_root: Path, runtime_params: dict[str, Any] | None = None
) -> None:
    """``kedro run --pipelines <pipeline_name>`` with outputs under ``data_root``.

    The runner is passed as the CLI passes it: a session run without one records the runner
    as ``"None"``, which kedro-viz's run hook takes for a parallel runner (and warns).
    """
    with kedro_session(data_root, runtime_params) as session:
        session.run(pipeline_names=[pipeline_name], runner=SequentialRunner())


def load_dataset(
    name: str, data_root: Path, runtime_params: dict[str, Any] | None = None
) -> Any:
    """``catalog.load(name)`` with paths under ``data_root``."""
    with kedro_session(data_root, runtime_params) as session:
        return session.load_context().catalog.load(name)


def cli_params(params: dict[str, Any], prefix: str = "") -> str:
    """``params`` as the value of ``kedro run --params``: dotted keys, comma-separated.

    Values are written as YAML flow values (Kedro parses them with OmegaConf), so a list
    must hold one item: the CLI splits the whole string on commas.
    """
    items = []
    for key, value in params.items():
        if isinstance(value, dict):
            items.append(cli_params(value, f"{prefix}{key}."))
        else:
            text = str(value).replace(" ", "")
            if "," in text:
                raise ValueError(f"{prefix}{key}={text}: a comma cannot pass --params")
            items.append(f"{prefix}{key}={text}")
    return ",".join(items)


def copy_data_root(source: Path, target: Path) -> Path:
    """A copy of a run's data root, to run more nodes on without touching the original."""
    shutil.copytree(source, target)
    return target


#: Python's default warning filters ("Default Warning Filter" in the docs of ``warnings``),
#: less the one showing deprecations raised in ``__main__`` (no code of a run is there).
PYTHON_DEFAULT_WARNING_FILTERS = [
    ("ignore", DeprecationWarning),
    ("ignore", PendingDeprecationWarning),
    ("ignore", ImportWarning),
    ("ignore", ResourceWarning),
]


def _console_handler() -> logging.Handler:
    """The ``console`` handler of ``conf/logging.yml``, configured if Kedro has not done so
    (Kedro reads the file when imported from the project folder)."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == "console":
            return handler
    configure_logging(
        yaml.safe_load((PROJECT_ROOT / "conf" / "logging.yml").read_text())
    )
    return _console_handler()


@contextmanager
def captured_output(path: Path) -> Iterator[Path]:
    """Write to ``path`` what a ``kedro run`` in this process shows, in the order shown.

    That is: its log, through the ``console`` handler of ``conf/logging.yml`` (format and
    levels as a user sees them); its Python warnings; and whatever the JVM and Spark's
    Python workers write to this process's file descriptors 1 and 2 (they write there
    directly, past ``sys.stderr`` and pytest's capture). Everything is appended to one file,
    so the lines keep their order.
    """
    console = _console_handler()
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with open(path, "a", encoding="utf-8") as stream, warnings.catch_warnings():
        previous = console.setStream(stream)
        # The warning filters of a `kedro run`, not pytest's: Python's defaults (which hide
        # deprecations raised outside __main__) and the project's (settings.py).
        warnings.resetwarnings()
        for action, category in PYTHON_DEFAULT_WARNING_FILTERS:
            warnings.simplefilter(action, category)
        ignore_known_warnings()

        def show(message, category, filename, lineno, *_) -> None:
            stream.write(warnings.formatwarning(message, category, filename, lineno))
            stream.flush()

        warnings.showwarning = show
        for fd in saved:
            os.dup2(target, fd)
        try:
            yield path
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            os.close(target)
            if previous is not None:
                console.setStream(previous)


#: The progress lines of ``NodeTimingHooks``: "[ 4/62] <node>" when a node starts and
#: "[ 4/62] <node>: 12.3 s[, rows: ...]" when it ends (node names with their namespace).
_PROGRESS = re.compile(r"\[\s*\d+/\d+\] (?P<node>[\w.]+)(?P<finished>: [\d.]+ s.*)?$")


def nodes_started(lines: Iterable[str]) -> set[str]:
    """The nodes whose start a run's progress lines (or log messages) show."""
    found = (_PROGRESS.search(line.rstrip()) for line in lines)
    return {m["node"] for m in found if m and m["finished"] is None}


def nodes_finished(lines: Iterable[str]) -> set[str]:
    """The nodes whose end a run's progress lines (or log messages) show."""
    found = (_PROGRESS.search(line.rstrip()) for line in lines)
    return {m["node"] for m in found if m and m["finished"] is not None}


def lives_in_memory(dataset: object) -> bool:
    """Whether a catalog dataset lives only for one run (a ``MemoryDataset``, the observed
    books of data_processing): Kedro marks such datasets ``_EPHEMERAL``."""
    return bool(getattr(dataset, "_EPHEMERAL", False))
