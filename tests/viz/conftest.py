"""The kedro-viz static site of the project, built once for the viz tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kedro_helpers import PROJECT_ROOT


def build_viz_site(project: Path, *options: str, data_root: Path | None = None) -> Path:
    """The project copied to ``project`` and ``kedro viz build`` run there; the site's path."""
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
    }
    if data_root is not None:
        env["SPARKIFY_DATA_ROOT"] = str(data_root)
    kedro = Path(sys.executable).with_name("kedro")
    result = subprocess.run(
        [str(kedro), "viz", "build", *options],
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
def viz_site(tmp_path_factory) -> Path:
    """The static kedro-viz site of the project, without data previews."""
    return build_viz_site(tmp_path_factory.mktemp("viz_project"))
