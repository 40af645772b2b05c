"""``notebooks/01_exploration.ipynb`` runs top to bottom on a small simulated log."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from kedro.pipeline import pipeline
from kedro.runner import SequentialRunner
from nbclient import NotebookClient

from sparkify_kedro.pipelines import (
    churn_labeling,
    data_processing,
    feature_engineering,
    simulation,
)
from tests.kedro_helpers import PROJECT_ROOT, kedro_session

NOTEBOOK = PROJECT_ROOT / "notebooks" / "01_exploration.ipynb"
SMALL_SIMULATION = {"simulation.n_users": 60, "simulation.seed": 3}


@pytest.fixture(scope="module")
def demo_data_root(spark, tmp_path_factory) -> Path:
    """The demo flow up to ``model_input_table`` on 60 simulated users, run through Kedro."""
    data_root = tmp_path_factory.mktemp("notebook_data")
    production = (
        data_processing.create_pipeline()
        + churn_labeling.create_pipeline()
        + feature_engineering.create_pipeline()
    )
    flow = simulation.create_pipeline() + pipeline(
        production, inputs={"raw_events": "simulated_events"}
    )
    with kedro_session(data_root, SMALL_SIMULATION) as session:
        SequentialRunner().run(flow, session.load_context().catalog)
    return data_root


def test_the_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(cell.outputs == [] for cell in code_cells)
    assert all(cell.execution_count is None for cell in code_cells)


def test_the_notebook_runs_top_to_bottom_on_the_catalog(demo_data_root, monkeypatch):
    # The kernel inherits the environment: its catalog reads the demo data root.
    monkeypatch.setenv("SPARKIFY_DATA_ROOT", str(demo_data_root))
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )

    client.execute()

    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 3  # page mix, churn by segment, feature distributions
