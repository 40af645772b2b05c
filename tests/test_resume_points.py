"""A stopped run can be resumed with ``kedro run --from-nodes <node>``.

Kedro's ``--from-nodes N`` runs ``N`` and everything downstream of it; every other input of
that part of the pipeline must then be read from a saved dataset. A dataset that only lives in
memory is gone with the stopped run, so: for every node that reads saved datasets only (a
natural place to resume; nodes that read parameters only are not), the part of the pipeline
from that node on must read only saved datasets, parameters and the pipeline's own inputs.
"""

from __future__ import annotations

import logging
import shutil

import pandas as pd
import pytest
from kedro.framework.project import pipelines

from tests.conftest import SMALL_DEMO_PARAMS
from tests.kedro_helpers import kedro_session, lives_in_memory, nodes_started


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    with kedro_session(tmp_path_factory.mktemp("catalog")) as session:
        yield session.load_context().catalog


def _is_parameter(dataset: str) -> bool:
    return dataset.startswith("params:") or dataset == "parameters"


def _is_saved(catalog, dataset: str) -> bool:
    if _is_parameter(dataset):
        return True
    if dataset not in catalog:  # the runner would make it a MemoryDataset
        return False
    return not lives_in_memory(catalog.get(dataset))


@pytest.mark.parametrize("pipeline_name", ["__default__", "demo"])
def test_every_resume_point_reads_only_saved_datasets(catalog, pipeline_name):
    whole = pipelines[pipeline_name]
    resume_points = [
        node
        for node in whole.nodes
        if not all(_is_parameter(name) for name in node.inputs)
        and all(
            _is_saved(catalog, name) or name in whole.inputs() for name in node.inputs
        )
    ]
    assert len(resume_points) > 10

    unreadable = {}
    for node in resume_points:
        rest = whole.from_nodes(node.name)
        lost = sorted(
            name
            for name in rest.inputs()
            if not _is_saved(catalog, name) and name not in whole.inputs()
        )
        if lost:
            unreadable[node.name] = lost
    assert unreadable == {}, (
        "`kedro run --from-nodes <node>` would need datasets that only lived in the "
        f"memory of the stopped run: {unreadable}"
    )


def test_the_feature_and_model_stages_are_resume_points(catalog):
    whole = pipelines["__default__"]
    for name in ("build_user_features", "plan_rolling_origin", "score_users"):
        (node,) = [node for node in whole.nodes if node.name == name]
        assert all(_is_saved(catalog, dataset) for dataset in node.inputs), name


def test_a_run_stopped_after_the_fits_does_not_fit_the_candidates_again(
    small_demo_data_root, tmp_path, caplog
):
    """``--only-missing-outputs`` after the metrics were lost: the candidates' scores are
    read back, nothing is fitted again, the same metrics come out (and the resumed run, an
    MLflow run of its own, records the metrics and the model again: two cheap nodes).

    The finished small demo is copied, then the metrics table is removed, as if the run
    had stopped after the race of the candidates.
    """
    data_root = tmp_path / "stopped"
    shutil.copytree(small_demo_data_root, data_root)
    scores = data_root / "06_models" / "evaluations" / "candidate_scores.parquet"
    scores_written = scores.stat().st_mtime_ns
    expected_metrics = pd.read_csv(data_root / "08_reporting" / "model_metrics.csv")
    (data_root / "08_reporting" / "model_metrics.csv").unlink()

    with (
        caplog.at_level(logging.INFO),
        kedro_session(data_root, SMALL_DEMO_PARAMS) as session,
    ):
        session.run(pipeline_names=["demo"], only_missing_outputs=True)

    assert nodes_started(record.getMessage() for record in caplog.records) == {
        "evaluate_models",
        "log_model_metrics_to_mlflow",
        "log_best_model_to_mlflow",
    }
    assert scores.stat().st_mtime_ns == scores_written
    pd.testing.assert_frame_equal(
        pd.read_csv(data_root / "08_reporting" / "model_metrics.csv"),
        expected_metrics,
        check_exact=False,
        atol=1e-9,
    )
