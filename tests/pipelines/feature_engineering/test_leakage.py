"""Leakage guards, on a simulated log (the simulator's nodes, 40 users, two months).

- features at a cutoff (every feature the module computes) do not change when every event
  at or after the cutoff is deleted, and that check has power: each feature does change
  when the events after the cutoff are moved into the window;
- labels depend only on the events inside the horizon, and who is at risk only on the
  events before the cutoff;
- a user who cancelled before a cutoff is not at risk at that cutoff;
- in user mode, no event at or after the user's first churn event reaches a feature.

Then the two pipelines run through Kedro on the same log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import yaml
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.feature_catalog import FEATURE_TYPES
from sparkify_kedro.features import compute_user_features, feature_window_params
from sparkify_kedro.pipelines.churn_labeling.nodes import (
    build_churn_labels,
    determine_log_span,
    label_snapshots,
    select_churn_events,
)
from sparkify_kedro.pipelines.data_processing.nodes import (
    build_clean_events,
)
from sparkify_kedro.pipelines.feature_engineering.nodes import build_user_features
from sparkify_kedro.pipelines.simulation.nodes import generate_events
from sparkify_kedro.windows import CANCELLATION_PAGE, users_at_risk
from tests.kedro_helpers import PROJECT_ROOT, load_dataset, run_pipeline
from tests.pipelines.data_processing.event_lines import parse_log

#: A small log keeps the tests fast: 40 users, a smaller song catalogue, one task per core.
SMALL_LOG = {"n_users": 40, "min_partitions": 2}
SMALL_CATALOGUE = {"n_artists": 2_000, "n_songs": 5_000}
KEYS = ["user_id", "cutoff"]


def _parameters(name: str) -> dict[str, Any]:
    path = PROJECT_ROOT / "conf" / "base" / f"parameters_{name}.yml"
    return yaml.safe_load(path.read_text())[name]


@pytest.fixture(scope="module")
def labeling_params() -> dict[str, Any]:
    return _parameters("churn_labeling")


@pytest.fixture(scope="module")
def task_params() -> dict[str, Any]:
    return _parameters("churn_task")


@pytest.fixture(scope="module")
def feature_params() -> dict[str, Any]:
    return _parameters("feature_engineering")


@pytest.fixture(scope="module")
def every_feature_params(task_params, feature_params) -> dict[str, Any]:
    """The project's windows with every feature the module computes, grouped or not."""
    return {
        **feature_window_params(task_params, feature_params),
        "feature_groups": {"all": list(FEATURE_TYPES)},
        "categorical_features": [
            name for name, kind in FEATURE_TYPES.items() if kind == T.StringType()
        ],
    }


#: Features that need not change when events are added before the cutoff: the profile
#: (the same for every event of a simulated user) and the tenure (the registration is
#: earlier than any event).
_FIXED_BY_THE_USER = {"platform", "browser", "gender", "state", "tenure_days"}


@pytest.fixture(scope="module")
def simulated_events(spark) -> Iterator[DataFrame]:
    """``clean_events`` of a 40-user simulated log (two months), cached."""
    params = _parameters("simulation")
    params = {
        **params,
        **SMALL_LOG,
        "catalogue": {**params["catalogue"], **SMALL_CATALOGUE},
    }
    events = build_clean_events(parse_log(generate_events(params)))[0].cache()
    assert events.count() > 20_000
    yield events
    events.unpersist()


@pytest.fixture(scope="module")
def snapshot_labels(simulated_events, labeling_params, task_params) -> DataFrame:
    churn_events = select_churn_events(simulated_events, task_params)
    labels = build_churn_labels(
        simulated_events,
        churn_events,
        determine_log_span(simulated_events, labeling_params["log_end"]),
        task_params,
    ).cache()
    assert labels.where("label = 1").count() > 0
    return labels


def _pandas(frame: DataFrame) -> pd.DataFrame:
    """A small result as pandas, sorted by (user_id, cutoff), for exact comparison."""
    return frame.toPandas().sort_values(KEYS).reset_index(drop=True)


def _assert_same(actual: DataFrame, expected: DataFrame) -> None:
    pd.testing.assert_frame_equal(_pandas(actual), _pandas(expected), rtol=1e-9)


def _per_cutoff_user(frame: DataFrame) -> DataFrame:
    """``user_id`` replaced by "user_id@cutoff": one pseudo-user per (user, cutoff)."""
    return frame.withColumn(
        "user_id", F.concat_ws("@", "user_id", F.col("cutoff").cast("string"))
    )


def _events_per_cutoff(
    events: DataFrame, keys: DataFrame, leak_days: int = 0
) -> DataFrame:
    """Each (user, cutoff) gets its own copy of the user's events before the cutoff, under
    a pseudo-user id "user_id@cutoff", so that one computation covers every cutoff.

    With ``leak_days`` the copy also holds the events of ``[cutoff, cutoff + leak_days)``,
    moved ``leak_days`` back into the window (what a feature reading past the cutoff sees).
    """
    ts, cutoff = F.col("ts"), F.col("cutoff")
    copies = events.join(keys, "user_id")
    before = copies.where(ts < cutoff)
    if leak_days:
        after = copies.where(
            (ts >= cutoff) & (ts < F.timestamp_add("DAY", F.lit(leak_days), cutoff))
        ).withColumn("ts", F.timestamp_add("DAY", F.lit(-leak_days), ts))
        before = before.unionByName(after)
    return before.transform(_per_cutoff_user).drop("cutoff")


def _features_per_cutoff(
    events: DataFrame, labels: DataFrame, params: dict[str, Any], leak_days: int = 0
) -> DataFrame:
    """Every feature of each (user, cutoff) of ``labels``, computed from the user's own
    copy of its events before the cutoff (:func:`_events_per_cutoff`)."""
    keys = labels.select(*KEYS)
    return compute_user_features(
        _events_per_cutoff(events, keys, leak_days), _per_cutoff_user(keys), params
    )


@pytest.fixture(scope="module")
def features_before_each_cutoff(
    simulated_events, snapshot_labels, every_feature_params
) -> Iterator[DataFrame]:
    """:func:`_features_per_cutoff` of the snapshot labels, cached for the two tests below."""
    features = _features_per_cutoff(
        simulated_events, snapshot_labels, every_feature_params
    ).cache()
    yield features
    features.unpersist()


def test_features_ignore_every_event_at_or_after_the_cutoff(
    simulated_events, snapshot_labels, every_feature_params, features_before_each_cutoff
):
    full = compute_user_features(
        simulated_events, snapshot_labels, every_feature_params
    )
    _assert_same(features_before_each_cutoff, _per_cutoff_user(full))


def test_the_leakage_check_would_catch_each_feature(
    simulated_events, snapshot_labels, every_feature_params, features_before_each_cutoff
):
    """The check above compares every feature on the log cut at the cutoff: it would fail if
    a feature read events at or after the cutoff only if the feature moves with them. It
    does: with the observation window's length of log after the cutoff moved into the
    window, each feature (but those fixed by the user) differs for some (user, cutoff)."""
    truncated = features_before_each_cutoff
    leaky = _features_per_cutoff(
        simulated_events,
        snapshot_labels,
        every_feature_params,
        leak_days=every_feature_params["observation_days"],
    )
    features = [name for name in FEATURE_TYPES if name not in _FIXED_BY_THE_USER]
    changed = (
        truncated.alias("a")
        .join(leaky.alias("b"), KEYS)
        .agg(
            *[
                F.max(
                    (~F.col(f"a.{name}").eqNullSafe(F.col(f"b.{name}"))).cast("int")
                ).alias(name)
                for name in features
            ]
        )
        .first()
        .asDict()
    )
    assert [name for name, moved in changed.items() if not moved] == []


def test_labels_depend_only_on_events_inside_the_horizon(
    simulated_events, snapshot_labels, task_params
):
    """label, churn_type and churn_time of every at-risk (user, cutoff) come out the same
    from the user's events in [cutoff, cutoff + horizon) alone."""
    horizon = task_params["horizon_days"]
    keys = snapshot_labels.select(*KEYS)
    horizon_end = F.timestamp_add("DAY", F.lit(horizon), "cutoff")
    horizon_events = (
        simulated_events.join(keys, "user_id")
        .where((F.col("ts") >= F.col("cutoff")) & (F.col("ts") < horizon_end))
        .transform(_per_cutoff_user)
        .drop("cutoff")
    )
    relabelled = label_snapshots(
        _per_cutoff_user(keys),
        select_churn_events(horizon_events, task_params),
        horizon,
    )
    _assert_same(relabelled, _per_cutoff_user(snapshot_labels))


def test_who_is_at_risk_depends_only_on_events_before_the_cutoff(
    simulated_events, snapshot_labels, task_params
):
    """Every (user, cutoff) of the log, at risk or not, decided again from the user's events
    before the cutoff alone: the same pairs are at risk."""
    cutoffs = snapshot_labels.select("cutoff").distinct()
    before_cutoff = (
        simulated_events.crossJoin(cutoffs)
        .where(F.col("ts") < F.col("cutoff"))
        .transform(_per_cutoff_user)
        .drop("cutoff")
    )
    at_risk = users_at_risk(before_cutoff, cutoffs, task_params["observation_days"])
    own_cutoff = F.split("user_id", "@")[1] == F.col("cutoff").cast("string")
    _assert_same(
        at_risk.where(own_cutoff), _per_cutoff_user(snapshot_labels.select(*KEYS))
    )


def test_users_who_cancelled_before_a_cutoff_are_not_at_risk(
    simulated_events, snapshot_labels, task_params
):
    cancelled = (
        simulated_events.where(F.col("page") == CANCELLATION_PAGE)
        .groupBy("user_id")
        .agg(F.min("ts").alias("cancelled_at"))
    )
    labelled_after_cancelling = snapshot_labels.join(cancelled, "user_id").where(
        F.col("cancelled_at") < F.col("cutoff")
    )
    assert labelled_after_cancelling.count() == 0
    # not vacuous: some users cancelled inside the observation window of a later cutoff
    windows = snapshot_labels.select("cutoff").distinct()
    active_then_cancelled = cancelled.crossJoin(windows).where(
        (F.col("cancelled_at") < F.col("cutoff"))
        & (
            F.col("cancelled_at")
            >= F.timestamp_add("DAY", F.lit(-task_params["observation_days"]), "cutoff")
        )
    )
    assert active_then_cancelled.count() > 0


def test_user_mode_features_use_only_events_before_the_first_churn(
    simulated_events, labeling_params, task_params, feature_params
):
    params = {**task_params, "mode": "user"}
    churn_events = select_churn_events(simulated_events, params)
    labels = build_churn_labels(
        simulated_events,
        churn_events,
        determine_log_span(simulated_events, labeling_params["log_end"]),
        params,
    ).cache()
    first_churn = churn_events.groupBy("user_id").agg(
        F.min("churn_time").alias("first")
    )
    churners = labels.where("label = 1").join(first_churn, "user_id")
    assert churners.count() > 0
    assert churners.where(F.col("cutoff") != F.col("first")).count() == 0

    before_cutoff = simulated_events.join(labels.select(*KEYS), "user_id").where(
        F.col("ts") < F.col("cutoff")
    )
    full = build_user_features(simulated_events, labels, params, feature_params)
    truncated = build_user_features(
        before_cutoff.drop("cutoff"), labels, params, feature_params
    )
    _assert_same(truncated, full)


def test_pipelines_write_labels_features_and_model_input(
    simulated_events, snapshot_labels, tmp_path, feature_params
):
    simulated_events.write.parquet(
        str(tmp_path / "03_primary" / "clean_events.parquet")
    )
    run_pipeline("churn_labeling", tmp_path)
    run_pipeline("feature_engineering", tmp_path)

    labels = load_dataset("churn_labels", tmp_path)
    table = load_dataset("model_input_table", tmp_path)
    features = [
        name for group in feature_params["feature_groups"].values() for name in group
    ]
    assert table.columns == ["user_id", "cutoff", "label", "churn_type", *features]
    assert load_dataset("user_features", tmp_path).columns == [*KEYS, *features]
    _assert_same(labels, snapshot_labels)
    assert table.count() == labels.count()
