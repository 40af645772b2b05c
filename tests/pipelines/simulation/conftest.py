"""Fixtures of the simulation tests: the default-size log, generated once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql import DataFrame, SparkSession

from sparkify_kedro.datasets import SparkTextLinesDataset
from sparkify_kedro.pipelines.simulation.nodes import generate_events
from tests.kedro_helpers import PROJECT_ROOT

PARAMETERS_FILE = PROJECT_ROOT / "conf" / "base" / "parameters_simulation.yml"


@pytest.fixture(scope="session")
def simulation_params() -> dict[str, Any]:
    """The default ``simulation`` parameters, as in conf/base."""
    return yaml.safe_load(PARAMETERS_FILE.read_text())["simulation"]


def write_log(params: dict[str, Any], path: Path) -> SparkTextLinesDataset:
    """Generate a log with ``params`` and save it at ``path`` as the catalog does."""
    dataset = SparkTextLinesDataset(
        filepath=str(path), save_args={"mode": "overwrite", "compression": "gzip"}
    )
    dataset.save(generate_events(params))
    return dataset


@pytest.fixture(scope="session")
def default_log(
    spark: SparkSession,
    simulation_params: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DataFrame]:
    """The raw lines of a log at the default size (225 users), cached for the session."""
    path = tmp_path_factory.mktemp("simulation") / "simulated_events"
    lines = write_log(simulation_params, path).load().cache()
    yield lines
    lines.unpersist()
