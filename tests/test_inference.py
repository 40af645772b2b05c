"""``inference``: a second log scored with the model of the test session's small demo.

The demo trained on 80 simulated users (ids 1-80, seed 3, 2018-10-01 to 12-03). The second
log is the simulator's next export: another seed, the four weeks to 2018-12-17, users
71-200, so 81-200 were never seen in training (four weeks cover the model's windows: 14 days
observed, 7 of trend; 130 users, about 110 scored, because the drift report's PSI needs
about a hundred rows to tell a shift from chance). One inference run, on a copy of the
demo's data root, serves every test; the version test then rescores from the saved clean
events with an older model pinned. A second run scores the same export with three times
as many thumbs down (``simulation.page_weight_factors``): its drift report names them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from kedro.io.core import Version, generate_timestamp
from pyspark.ml import PipelineModel
from pyspark.ml.feature import SQLTransformer

from sparkify_kedro.datasets import JSONDataset, SparkMLModelDataset
from sparkify_kedro.model_versions import paired_load_version
from sparkify_kedro.pipelines.simulation.generator import UserSimulator
from tests.conftest import SMALL_DEMO_PARAMS
from tests.kedro_helpers import (
    PROJECT_ROOT,
    copy_data_root,
    kedro_session,
    load_dataset,
    run_pipeline,
)

#: The next export: another seed, ending two weeks after the training log.
NEXT_LOG = {"seed": 11, "start": "2018-11-19", "end": "2018-12-17", "n_users": 200}
NEXT_LOG_USERS = range(71, 201)
#: The same export, its users giving three times as many thumbs down.
SHIFT = {"page_weight_factors": {"Thumbs Down": 3.0}}
TRAINING_USERS = SMALL_DEMO_PARAMS["simulation"]["n_users"]
OBSERVATION_DAYS = 14  # the demo model's, checked against its best_model_info below


def _write_next_log(path: Path, shift: dict | None = None) -> None:
    """The simulator's raw lines of ``NEXT_LOG_USERS``, gzipped, as an export would be
    (with ``shift``: those parameters changed)."""
    params = yaml.safe_load(
        (PROJECT_ROOT / "conf" / "base" / "parameters_simulation.yml").read_text()
    )["simulation"]
    simulator = UserSimulator({**params, **NEXT_LOG, **(shift or {})})
    with gzip.open(path, "wt") as log:
        for user_id in NEXT_LOG_USERS:
            log.writelines(f"{line}\n" for line in simulator.user_lines(user_id))


def _training_files(data_root: Path) -> dict[str, str]:
    """sha256 of every file under ``data_root`` outside the ``inference`` folders."""
    return {
        str(path.relative_to(data_root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data_root.rglob("*"))
        if path.is_file() and "inference" not in path.relative_to(data_root).parts
    }


@pytest.fixture(scope="module")
def run(small_demo_data_root, tmp_path_factory):
    """``kedro run --pipelines inference --params raw_events_path=<next log>`` on a copy
    of the demo's data root, with the training files hashed before it."""
    work = tmp_path_factory.mktemp("inference")
    next_log = work / "next_export.json.gz"
    _write_next_log(next_log)
    data_root = copy_data_root(small_demo_data_root, work / "data")
    before = _training_files(data_root)
    run_pipeline("inference", data_root, {"raw_events_path": str(next_log)})
    return SimpleNamespace(
        data_root=data_root,
        next_log=next_log,
        training_files_before=before,
        scores=load_dataset("inference.churn_scores", data_root).toPandas(),
    )


@pytest.fixture(scope="module")
def shifted_run(small_demo_data_root, tmp_path_factory):
    """The same inference run on the next log with :data:`SHIFT`: its drift report and
    page (the only extra inference run of the tests)."""
    work = tmp_path_factory.mktemp("inference_shifted")
    next_log = work / "next_export_shifted.json.gz"
    _write_next_log(next_log, SHIFT)
    data_root = copy_data_root(small_demo_data_root, work / "data")
    run_pipeline("inference", data_root, {"raw_events_path": str(next_log)})
    return SimpleNamespace(
        drift=load_dataset("inference.drift_report", data_root),
        page=load_dataset("inference.report_page", data_root),
    )


def _users_at_risk_by_hand(next_log: Path, log_end: pd.Timestamp) -> set[str]:
    """Users with a logged-in event in the ``OBSERVATION_DAYS`` days before ``log_end``
    and no cancellation before it, read straight from the raw lines."""
    with gzip.open(next_log, "rt") as log:
        events = pd.DataFrame(
            [json.loads(line) for line in log], columns=["userId", "ts", "page"]
        )
    events = events[events["userId"] != ""]
    events["time"] = pd.to_datetime(events["ts"], unit="ms")
    window_start = log_end - pd.Timedelta(days=OBSERVATION_DAYS)
    in_window = (events["time"] >= window_start) & (events["time"] < log_end)
    active = set(events.loc[in_window, "userId"])
    cancelled = set(
        events.loc[
            (events["page"] == "Cancellation Confirmation")
            & (events["time"] < log_end),
            "userId",
        ]
    )
    assert cancelled, "the next log should hold a cancellation to check"
    return active - cancelled


def test_the_new_log_is_scored_as_of_its_own_end(run):
    info = load_dataset("best_model_info", run.data_root)
    assert info["churn_task"]["observation_days"] == OBSERVATION_DAYS
    log_span = load_dataset("inference.log_span", run.data_root)
    log_end = pd.Timestamp(NEXT_LOG["end"])
    assert pd.Timestamp(log_span["log_end"]) == log_end  # the new log's, not training's
    scores = run.scores
    assert set(scores["user_id"]) == _users_at_risk_by_hand(run.next_log, log_end)
    assert {user for user in scores["user_id"] if int(user) > TRAINING_USERS}, (
        "users never seen in training are scored"
    )
    assert (pd.to_datetime(scores["scored_at"]) == log_end).all()
    assert set(scores["model"]) == {info["name"]}
    assert sorted(scores["rank"]) == list(range(1, len(scores) + 1))
    table = load_dataset("inference.churn_scores_csv", run.data_root)
    assert (
        table["user_id"].astype(str).tolist()
        == scores.sort_values("rank")["user_id"].tolist()
    )


def test_the_data_quality_report_is_the_new_logs(run):
    report = load_dataset("inference.data_quality_report", run.data_root)
    with gzip.open(run.next_log, "rt") as log:
        lines = sum(1 for _ in log)
    assert [Path(entry["file"]).name for entry in report["input_files"]] == [
        run.next_log.name
    ]
    assert report["lines_read"] == lines
    assert report["distinct_users"] == len(NEXT_LOG_USERS)
    assert report["books_balance"]


def test_no_training_dataset_is_touched(run):
    after = _training_files(run.data_root)
    assert after == run.training_files_before
    written = {
        path.relative_to(run.data_root).parts[:2]
        for path in run.data_root.rglob("*")
        if "inference" in path.relative_to(run.data_root).parts
    }
    assert written == {
        ("02_intermediate", "inference"),
        ("03_primary", "inference"),
        ("07_model_output", "inference"),
        ("08_reporting", "inference"),
    }


def test_an_unshifted_log_does_not_drift(run):
    """The next export of the same simulator: no feature beyond the threshold, no
    warning; every profiled feature reported; the users new to the model counted."""
    drift = load_dataset("inference.drift_report", run.data_root)
    info = load_dataset("best_model_info", run.data_root)
    profile = info["feature_profile"]
    assert drift["warning"] is None
    assert drift["drifted_features"] == []
    assert {row["feature"] for row in drift["features"]} == set(profile["features"])
    assert max(row["psi"] for row in drift["features"]) <= drift["psi_threshold"] == 0.2
    psi = [row["psi"] for row in drift["features"]]
    assert psi == sorted(psi, reverse=True)
    read = {
        *info["feature_columns"]["numeric"],
        *info["feature_columns"]["categorical"],
    }
    assert {r["feature"] for r in drift["features"] if r["read_by_model"]} == read
    assert drift["reference_rows"] == profile["rows"]
    scored = set(run.scores["user_id"])
    unseen = {user for user in scored if int(user) > TRAINING_USERS}
    assert (drift["scored_users"], drift["unseen_users"]) == (len(scored), len(unseen))
    assert drift["unseen_share"] == pytest.approx(len(unseen) / len(scored))


def test_the_inference_page_says_no_drift_and_lists_every_user(run):
    page = load_dataset("inference.report_page", run.data_root)
    assert 'id="drift-none"' in page
    assert 'id="drift-warning"' not in page
    assert 'id="scored-users-data"' in page  # the searchable table of every user
    for user in run.scores["user_id"]:
        assert f'"{user}"' in page
    log_span = load_dataset("inference.log_span", run.data_root)
    assert log_span["log_end"] in page


def test_a_shifted_log_names_the_shifted_features_and_the_page_warns(shifted_run):
    """Three times as many thumbs down: the thumbs-down features drift (and discontent,
    which counts them), nothing else; the warning names them, the page shows it."""
    drift = shifted_run.drift
    drifted = set(drift["drifted_features"])
    assert {"thumbs_down", "thumbs_down_per_song"} <= drifted
    assert all("thumbs_down" in name or "discontent" in name for name in drifted)
    for name in drifted:
        assert name in drift["warning"]
    page = shifted_run.page
    assert 'id="drift-warning"' in page
    assert 'id="drift-none"' not in page
    assert (
        "thumbs_down_per_song" in page.split('id="drift-warning"')[1].split("</p>")[0]
    )


def _save_newer_model(data_root: Path, dropped_user: str) -> str:
    """A newer version of ``best_model`` and ``best_model_info``, as a later training run
    would save: a model that scores every user but ``dropped_user``, named ``newer``."""
    models = data_root / "06_models"
    older_model = SparkMLModelDataset(
        filepath=str(models / "best_model"), version=Version(None, None)
    ).load()
    info = JSONDataset(
        filepath=str(models / "best_model_info.json"), version=Version(None, None)
    ).load()
    newer = generate_timestamp()
    SparkMLModelDataset(
        filepath=str(models / "best_model"), version=Version(None, newer)
    ).save(
        PipelineModel(
            stages=[
                *older_model.stages,
                SQLTransformer(
                    statement=f"SELECT * FROM __THIS__ WHERE user_id != '{dropped_user}'"
                ),
            ]
        )
    )
    JSONDataset(
        filepath=str(models / "best_model_info.json"), version=Version(None, newer)
    ).save({**info, "name": "newer"})
    return newer


def test_load_versions_scores_with_the_older_model_and_its_record(run):
    """``--load-versions best_model:<older>`` with a newer version saved: the older model
    scores (every user, where the newer drops one) under the older record's name."""
    (older,) = [p.name for p in (run.data_root / "06_models" / "best_model").iterdir()]
    dropped = run.scores["user_id"].iloc[0]
    newer = _save_newer_model(run.data_root, dropped)
    features = load_dataset("inference.scoring_features", run.data_root)
    assert older < newer
    assert load_dataset("best_model_info", run.data_root)["name"] == "newer"
    assert dropped not in {
        row.user_id
        for row in load_dataset("best_model", run.data_root)
        .transform(features)
        .collect()
    }

    with kedro_session(
        run.data_root, {"raw_events_path": str(run.next_log)}
    ) as session:
        session.run(
            pipeline_names=["inference"],
            from_nodes=["inference.build_scoring_cutoffs"],
            load_versions={"best_model": older},
        )
    rescored = load_dataset("inference.churn_scores", run.data_root).toPandas()
    pd.testing.assert_frame_equal(  # every user, under the older model's name
        rescored.sort_values("rank").reset_index(drop=True),
        run.scores.sort_values("rank").reset_index(drop=True),
    )


@pytest.mark.parametrize(
    ("load_versions", "expected"),
    [
        ({}, None),
        ({"other": "v1"}, None),
        ({"best_model": "v1"}, "v1"),
        ({"best_model_info": "v1"}, "v1"),
        ({"best_model": "v1", "best_model_info": "v1"}, "v1"),
    ],
)
def test_the_model_and_its_record_share_one_version(load_versions, expected):
    assert paired_load_version(load_versions) == expected


def test_a_model_pinned_with_another_record_stops_the_run():
    with pytest.raises(ValueError, match="different versions"):
        paired_load_version({"best_model": "v1", "best_model_info": "v2"})
