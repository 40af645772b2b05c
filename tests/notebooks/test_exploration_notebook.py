"""``notebooks/01_exploration.ipynb`` runs top to bottom on a small simulated log."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from tests.kedro_helpers import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "01_exploration.ipynb"


def test_the_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(cell.outputs == [] for cell in code_cells)
    assert all(cell.execution_count is None for cell in code_cells)


def test_the_notebook_runs_top_to_bottom_on_the_catalog(
    small_demo_data_root, monkeypatch
):
    # The kernel inherits the environment: its catalog reads the demo data root.
    monkeypatch.setenv("SPARKIFY_DATA_ROOT", str(small_demo_data_root))
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
    figures = [
        output
        for output in outputs
        if "application/vnd.plotly.v1+json" in output.get("data", {})
    ]
    assert len(figures) == 3  # page mix, churn by segment, feature distributions
