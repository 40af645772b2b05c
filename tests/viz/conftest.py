"""The kedro-viz static site of the project, built once for the viz tests: with previews
(``make viz-build``) over the outputs of a real data_processing run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest

from tests.kedro_helpers import PROJECT_ROOT, copy_data_root, kedro_session


def _build_viz_site(project: Path, data_root: Path) -> Path:
    """The project copied to ``project`` and ``kedro viz build --include-previews`` run
    there over ``data_root``; the site's path."""
    for item in ("conf", "src", "pyproject.toml", ".telemetry"):
        source = PROJECT_ROOT / item
        if source.is_dir():
            shutil.copytree(source, project / item)
        else:
            shutil.copy(source, project / item)
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "PYTHONPATH": str(project / "src"),
        "SPARKIFY_DATA_ROOT": str(data_root),
    }
    kedro = Path(sys.executable).with_name("kedro")
    result = subprocess.run(
        [str(kedro), "viz", "build", "--include-previews"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return project / "build"


@pytest.fixture(scope="session")
def viz_site(processed_sample_data_root, tmp_path_factory) -> Path:
    """``kedro viz build --include-previews`` of the project, as ``make viz-build`` runs
    it, over a data root holding data_processing's outputs of the sample log and one
    plotly chart; the other datasets have no data (nothing to preview)."""
    data_root = copy_data_root(
        processed_sample_data_root, tmp_path_factory.mktemp("viz") / "data"
    )
    with kedro_session(data_root) as session:
        session.load_context().catalog.save(
            "churn_rate_by_segment_plot",
            go.Figure(go.Bar(x=["free", "paid"], y=[0.2, 0.1])),
        )
    return _build_viz_site(tmp_path_factory.mktemp("viz_project"), data_root)
