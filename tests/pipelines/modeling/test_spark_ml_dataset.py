"""``best_model`` saved with ``SparkMLModelDataset`` loads and scores the same."""

from __future__ import annotations

import shutil

import pytest
from kedro.io.core import DatasetError, Version

from sparkify_kedro.datasets import SparkMLModelDataset
from sparkify_kedro.estimators import churn_probability
from sparkify_kedro.pipelines.modeling.deployment import refit_best_model
from tests.pipelines.modeling.conftest import FEATURE_COLUMNS, QUERY_EXECUTION


def _scores(model, rows):
    scored = model.transform(rows).select("user_id", "cutoff", churn_probability())
    return sorted(tuple(row) for row in scored.collect())


@pytest.mark.parametrize(
    ("algorithm", "params"),
    [
        ("LinearSVC", {"maxIter": 20, "regParam": 0.01}),
        ("GBTClassifier", {"maxIter": 5}),
    ],
)
def test_saved_best_model_loads_and_scores_the_same(
    model_input_table, tmp_path, algorithm, params
):
    info = {
        "feature_set": "all",
        "algorithm": algorithm,
        "estimator": algorithm,
        "feature_columns": FEATURE_COLUMNS,
        "estimator_params": params,
    }
    model = refit_best_model(
        model_input_table, info, {"partitions": 1}, QUERY_EXECUTION
    )
    # Scoring needs the raw feature columns only: no label, no weight.
    features = model_input_table.drop("label", "churn_type")
    dataset = SparkMLModelDataset(
        filepath=str(tmp_path / "best_model"), version=Version(None, None)
    )
    assert not dataset.exists()
    dataset.save(model)
    assert dataset.exists()
    reloaded = SparkMLModelDataset(
        filepath=str(tmp_path / "best_model"), version=Version(None, None)
    ).load()
    before, after = _scores(model, features), _scores(reloaded, features)
    assert [row[:2] for row in before] == [row[:2] for row in after]
    assert [row[2] for row in after] == pytest.approx([row[2] for row in before])
    assert all(0.0 <= row[2] <= 1.0 for row in after)


def test_versions_are_kept(model_input_table, tmp_path):
    info = {
        "feature_set": "all",
        "algorithm": "LogisticRegression",
        "estimator": "LogisticRegression",
        "feature_columns": FEATURE_COLUMNS,
        "estimator_params": {"maxIter": 5},
    }
    model = refit_best_model(
        model_input_table, info, {"partitions": 1}, QUERY_EXECUTION
    )
    for version in ("2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"):
        SparkMLModelDataset(
            filepath=str(tmp_path / "best_model"), version=Version(None, version)
        ).save(model)
    assert sorted(path.name for path in (tmp_path / "best_model").iterdir()) == [
        "2026-01-01T00.00.00.000Z",
        "2026-01-02T00.00.00.000Z",
    ]
    latest = SparkMLModelDataset(
        filepath=str(tmp_path / "best_model"), version=Version(None, None)
    )
    assert latest.resolve_load_version() == "2026-01-02T00.00.00.000Z"

    # a later save killed half-way: the folder is there, the _SUCCESS marker is not
    interrupted = tmp_path / "best_model" / "2026-01-03T00.00.00.000Z" / "best_model"
    shutil.copytree(
        tmp_path / "best_model" / "2026-01-02T00.00.00.000Z" / "best_model", interrupted
    )
    (interrupted / "_SUCCESS").unlink()
    latest = SparkMLModelDataset(
        filepath=str(tmp_path / "best_model"), version=Version(None, None)
    )
    assert latest.resolve_load_version() == "2026-01-02T00.00.00.000Z"
    assert latest.exists()
    with pytest.raises(DatasetError, match="PipelineModel"):
        latest.save("not a model")
