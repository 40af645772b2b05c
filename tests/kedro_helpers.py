"""Run the project's pipelines and read its datasets through a real KedroSession."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
    """``kedro run --pipelines <pipeline_name>`` with outputs under ``data_root``."""
    with kedro_session(data_root, runtime_params) as session:
        session.run(pipeline_names=[pipeline_name])


def load_dataset(
    name: str, data_root: Path, runtime_params: dict[str, Any] | None = None
) -> Any:
    """``catalog.load(name)`` with paths under ``data_root``."""
    with kedro_session(data_root, runtime_params) as session:
        return session.load_context().catalog.load(name)
