"""The import graph: each pipeline depends on the shared layer and Kedro, never sideways."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sparkify_kedro

PACKAGE = Path(sparkify_kedro.__file__).parent
PIPELINES = PACKAGE / "pipelines"
STAGES = sorted(p.name for p in PIPELINES.iterdir() if (p / "__init__.py").exists())


def _package_of(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).parts[:-1])


def _imported_modules(source: str, package: str) -> list[str]:
    """Every module ``source`` (a module of ``package``) imports, relative imports
    resolved to absolute names."""
    modules = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = (
                    package.rsplit(".", node.level - 1)[0]
                    if node.level > 1
                    else package
                )
                base = f"{parent}.{base}" if base else parent
            modules += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return modules


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] == ["sparkify_kedro", "pipelines"] and len(parts) > 2:
        return parts[2]
    return None


@pytest.mark.parametrize("stage", STAGES)
def test_a_pipeline_imports_no_other_pipeline(stage: str) -> None:
    sideways = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in sorted((PIPELINES / stage).rglob("*.py"))
        for module in _imported_modules(path.read_text(), _package_of(path))
        if _stage_of(module) not in (None, stage)
    ]
    assert sideways == []


def test_the_shared_layer_imports_no_pipeline() -> None:
    shared = [p for p in PACKAGE.rglob("*.py") if PIPELINES not in p.parents]
    upward = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in shared
        if path.name != "pipeline_registry.py"  # the registry composes the pipelines
        for module in _imported_modules(path.read_text(), _package_of(path))
        if _stage_of(module) is not None
    ]
    assert upward == []


def test_the_checker_sees_relative_and_absolute_imports() -> None:
    """The checker itself: every spelling of a sideways dependency is caught."""
    source = (
        "from ..modeling import estimators\n"
        "from . import nodes\n"
        "import sparkify_kedro.pipelines.reporting.nodes\n"
        "from sparkify_kedro.pipelines.simulation.generator import UserSimulator\n"
    )
    modules = _imported_modules(source, "sparkify_kedro.pipelines.scoring")
    stages = {_stage_of(module) for module in modules}
    assert stages == {"modeling", "scoring", "reporting", "simulation"}
