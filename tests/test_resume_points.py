"""A stopped run can be resumed with ``kedro run --from-nodes <node>``.

Kedro's ``--from-nodes N`` runs ``N`` and everything downstream of it; every other input of
that part of the pipeline must then be read from a saved dataset. A dataset that only lives in
memory is gone with the stopped run, so: for every node that reads saved datasets only (a
natural place to resume; nodes that read parameters only are not), the part of the pipeline
from that node on must read only saved datasets, parameters and the pipeline's own inputs.
"""

from __future__ import annotations

import pytest
from kedro.framework.project import pipelines
from kedro.io import MemoryDataset

from tests.kedro_helpers import kedro_session


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
    return not isinstance(catalog.get(dataset), MemoryDataset)


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
    for name in ("build_user_features", "split_out_of_time", "score_users"):
        (node,) = [node for node in whole.nodes if node.name == name]
        assert all(_is_saved(catalog, dataset) for dataset in node.inputs), name
