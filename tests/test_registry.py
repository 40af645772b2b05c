"""The registry: ``__default__`` is exactly the production stages, ``demo`` adds simulation,
and a log that was not simulated runs every production stage without the ceiling."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

from sparkify_kedro.pipeline_registry import (
    MODEL_DATASETS,
    PIPELINE_FOLDERS,
    PRODUCTION_STAGES,
)
from sparkify_kedro.pipelines import data_processing, scoring, simulation
from tests.kedro_helpers import LAYERS, PROJECT_ROOT, kedro_session, load_dataset

SIMULATION_ONLY = {
    "simulated_events",
    "simulation_truth",
    "simulated_churn_probabilities",
}


@pytest.fixture(autouse=True)
def _project():
    bootstrap_project(PROJECT_ROOT)


def _node_names(pipeline) -> set[str]:
    return {node.name for node in pipeline.nodes}


def test_every_pipeline_folder_is_registered_by_its_name():
    folders = {
        path.name
        for path in (PROJECT_ROOT / "src" / "sparkify_kedro" / "pipelines").iterdir()
        if path.is_dir() and not path.name.startswith(("_", "."))
    }
    assert {
        folder.__name__.rpartition(".")[2] for folder in PIPELINE_FOLDERS
    } == folders
    assert folders | {"__default__", "ceiling", "demo", "inference"} == set(pipelines)


def test_default_is_exactly_the_production_stages():
    stages = set().union(
        *(_node_names(stage.create_pipeline()) for stage in PRODUCTION_STAGES)
    )
    assert _node_names(pipelines["__default__"]) == stages
    assert not SIMULATION_ONLY & pipelines["__default__"].datasets()
    assert "params:simulation" not in pipelines["__default__"].datasets()


def test_demo_is_simulation_then_production_then_the_ceiling():
    expected = (
        _node_names(simulation.create_pipeline())
        | _node_names(pipelines["__default__"])
        | _node_names(simulation.create_ceiling_pipeline())
    )
    assert _node_names(pipelines["demo"]) == expected
    assert "raw_events" not in pipelines["demo"].datasets()  # fed by simulated_events


def test_inference_is_cleaning_and_scoring_under_its_own_namespace(tmp_path):
    """The same nodes as data_processing, the log's end and scoring, renamed
    ``inference.*``, then the drift report and the page; from training they read only
    the model, its record and the training rows' users, and every dataset they write
    lives in an ``inference`` folder of its layer."""
    inference = pipelines["inference"]
    reused = _node_names(data_processing.create_pipeline() + scoring.create_pipeline())
    own = {"determine_log_span", "report_drift_from_training", "render_inference_page"}
    assert _node_names(inference) == {f"inference.{name}" for name in reused | own}
    free_inputs = {
        name for name in inference.inputs() if not name.startswith("params:")
    }
    assert free_inputs == {"inference.raw_events", *MODEL_DATASETS}
    written = inference.all_outputs()
    assert all(name.startswith("inference.") for name in written)
    with kedro_session(tmp_path) as session:
        catalog = session.load_context().catalog
    for name in written | {"inference.raw_events"}:
        filepath = getattr(catalog.get(name), "_filepath", None)
        assert filepath is None or "inference" in filepath.parts, name


def test_a_log_that_was_not_simulated_runs_the_production_stages(
    small_demo_data_root, tmp_path
):
    """The small demo's log, copied as an export from elsewhere (``raw_events_path``),
    through ``kedro run`` (``__default__``) up to the model input: the same table as the
    demo's, from a log the project did not simulate. (Modeling and what follows read only
    saved datasets from there on, and the ceiling is not part of ``__default__``: see
    ``test_default_is_exactly_the_production_stages``.)"""
    exported = tmp_path / "export"
    shutil.copytree(small_demo_data_root / "01_raw" / "simulated_events", exported)
    data_root = tmp_path / "real"
    with kedro_session(data_root, {"raw_events_path": str(exported)}) as session:
        session.run(
            pipeline_names=["__default__"], to_nodes=["build_model_input_table"]
        )
    assert not (data_root / "01_raw" / "simulated_events").exists()
    table, expected = (
        load_dataset("model_input_table", root).toPandas()
        for root in (data_root, small_demo_data_root)
    )
    keys = ["user_id", "cutoff"]
    pd.testing.assert_frame_equal(
        table.sort_values(keys).reset_index(drop=True),
        expected.sort_values(keys).reset_index(drop=True),
    )


def _layer(catalog, dataset: str) -> str | None:
    metadata = getattr(catalog.get(dataset), "metadata", None) or {}
    return metadata.get("kedro-viz", {}).get("layer")


@pytest.mark.parametrize("pipeline_name", ["__default__", "demo", "inference"])
def test_every_node_writes_at_or_after_the_layers_it_reads(pipeline_name, tmp_path):
    """Layers follow the flow: no node writes to an earlier layer than one it reads. Else
    kedro-viz finds a cycle between layers and silently shows none (say, features computed
    from the model's record placed in the feature layer)."""
    with kedro_session(tmp_path) as session:
        catalog = session.load_context().catalog
    backwards = []
    for node in pipelines[pipeline_name].nodes:
        read = [_layer(catalog, d) for d in node.inputs if not d.startswith("params:")]
        written = [_layer(catalog, d) for d in node.outputs]
        assert None not in read + written, f"{node.name}: a dataset without a layer"
        if read and min(map(LAYERS.index, written)) < max(map(LAYERS.index, read)):
            backwards.append(f"{node.name}: {read} -> {written}")
    assert backwards == []
