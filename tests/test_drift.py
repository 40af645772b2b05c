"""``sparkify_kedro.drift``: PSI per feature of a new log's rows against a training
profile, on small hand-built rows with hand-computed values."""

from __future__ import annotations

import json
import math

import pytest

from sparkify_kedro.drift import (
    RARE,
    _numeric_groups,
    feature_drift,
    population_stability_index,
    report_drift_from_training,
)
from sparkify_kedro.feature_profile import MISSING, bucket_counts, profile_features

PARAMS = {"psi_threshold": 0.2, "min_bucket_share": 0.2, "share_floor": 1e-4}
FLOOR = PARAMS["share_floor"]


def test_psi_of_two_share_maps():
    # (0.75 - 0.5) ln(0.75 / 0.5) + (0.25 - 0.5) ln(0.25 / 0.5)
    expected = 0.25 * math.log(1.5) + 0.25 * math.log(2)
    same = population_stability_index({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}, FLOOR)
    assert same == 0
    assert population_stability_index(
        {"a": 0.5, "b": 0.5}, {"a": 0.75, "b": 0.25}, FLOOR
    ) == pytest.approx(expected)


def test_an_empty_bucket_counts_at_the_floor_on_either_side():
    # b empty in the new rows: (1e-4 - 0.5) ln(1e-4 / 0.5); a: 0.5 ln 2
    expected = 0.5 * math.log(2) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert population_stability_index(
        {"a": 0.5, "b": 0.5}, {"a": 1.0}, FLOOR
    ) == pytest.approx(expected)
    assert population_stability_index(
        {"a": 1.0}, {"a": 0.5, "b": 0.5}, FLOOR
    ) == pytest.approx(expected)  # symmetric


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        # ten deciles: pairs
        (
            [0.1] * 10,
            ["b0-b1", "b0-b1", "b2-b3", "b2-b3", "b4-b5", "b4-b5"]
            + ["b6-b7", "b6-b7", "b8-b9", "b8-b9"],
        ),
        # a large first bucket (many zeros) stays alone
        ([0.5, 0.1, 0.1, 0.3], ["b0", "b1-b2", "b1-b2", "b3"]),
        # a short last group joins the one before
        ([0.3, 0.3, 0.3, 0.1], ["b0", "b1", "b2-b3", "b2-b3"]),
    ],
)
def test_numeric_buckets_merge_in_order_up_to_the_minimum_share(shares, expected):
    entry = {
        "edges": list(range(len(shares) - 1)),
        "shares": {f"b{i}": share for i, share in enumerate(shares)},
    }
    groups = _numeric_groups(entry, 0.2)
    assert [groups[f"b{i}"] for i in range(len(shares))] == expected
    assert groups[MISSING] == MISSING


@pytest.fixture(scope="module")
def training(spark):
    """Ten training rows of users t1..t10: ``x`` 1..8 and two missing (edge 4 with 2
    buckets: b0 = 1..4, b1 = 5..8), ``c`` a x6, b x3, z x1 (z rare: < 0.2)."""
    rows = [
        (f"t{i}", float(x) if x is not None else None, c)
        for i, (x, c) in enumerate(
            zip(
                [1, 2, 3, 4, 5, 6, 7, 8, None, None],
                ["a"] * 6 + ["b"] * 3 + ["z"],
                strict=True,
            ),
            start=1,
        )
    ]
    frame = spark.createDataFrame(rows, "user_id string, x double, c string")
    profile = profile_features(frame, ["x"], ["c"], bins=2)
    assert profile["features"]["x"]["edges"] == [4.0]
    assert profile["features"]["x"]["shares"] == {"b0": 0.4, "b1": 0.4, MISSING: 0.2}
    assert profile["features"]["c"]["shares"] == {"a": 0.6, "b": 0.3, "z": 0.1}
    # the training users, as modeling's profile_training_features records them
    return frame, {**profile, "user_ids": [f"t{i}" for i in range(1, 11)]}


#: Five new rows: ``x`` b0 x3, b1 x1, missing x1; ``c`` a x2, q (never seen) x2, missing.
NEW_ROWS = [
    ("t1", 1.0, "a"),
    ("t2", 2.0, "a"),
    ("t3", 3.0, "q"),
    ("n1", 9.0, "q"),
    ("n2", None, None),
]
#: x: (0.6 - 0.4) ln(0.6 / 0.4) + (0.2 - 0.4) ln(0.2 / 0.4) + 0 (missing 0.2 both).
PSI_X = 0.2 * math.log(1.5) + 0.2 * math.log(2)
#: c, against a 0.6, b 0.3, rare (z) 0.1, missing 0 (floored): a 0.4, b 0 (floored),
#: rare (q) 0.4, missing 0.2.
PSI_C = (
    (0.4 - 0.6) * math.log(0.4 / 0.6)
    + (FLOOR - 0.3) * math.log(FLOOR / 0.3)
    + (0.4 - 0.1) * math.log(0.4 / 0.1)
    + (0.2 - FLOOR) * math.log(0.2 / FLOOR)
)


def test_feature_drift_in_merged_buckets(spark, training):
    _, profile = training
    rows = spark.createDataFrame(NEW_ROWS, "user_id string, x double, c string")
    drift = feature_drift(bucket_counts(rows, profile), profile, {"x"}, PARAMS)
    assert drift == [
        {
            "feature": "c",
            "psi": round(PSI_C, 4),
            "buckets": 4,  # a, b, rare, missing
            "drifted": True,
            "read_by_model": False,
        },
        {
            "feature": "x",
            "psi": round(PSI_X, 4),
            "buckets": 3,
            "drifted": True,  # 0.2197 > 0.2
            "read_by_model": True,
        },
    ]


def test_the_report_of_a_drifted_log(spark, training):
    frame, profile = training
    rows = spark.createDataFrame(NEW_ROWS, "user_id string, x double, c string")
    info = {
        "name": "m",
        "feature_profile": profile,
        "feature_columns": {"numeric": ["x"], "categorical": []},
    }
    report = report_drift_from_training(rows, info, PARAMS)
    assert json.loads(json.dumps(report)) == report  # plain JSON types only
    assert {
        key: report[key] for key in report if key not in ("features", "warning")
    } == {
        "psi_threshold": 0.2,
        "min_bucket_share": 0.2,
        "share_floor": 1e-4,
        "bins": 2,
        "reference_rows": 10,
        "scored_users": 5,
        "unseen_users": 2,  # n1, n2
        "unseen_share": 0.4,
        "chance_psi": round(3 * (1 / 5 + 1 / 10), 4),  # 4 buckets of c
        "drifted_features": ["c", "x"],
    }
    assert [row["feature"] for row in report["features"]] == ["c", "x"]
    # the feature the model reads first
    assert report["warning"].startswith(
        "2 features of this log moved beyond the training rows' (population stability "
        f"index above 0.2): x ({PSI_X:.2f}, read by the model), c ({PSI_C:.2f}). 1 of "
        "them is read by the model"
    )


def test_rows_like_the_training_rows_do_not_warn(spark, training):
    frame, profile = training
    info = {
        "name": "m",
        "feature_profile": profile,
        "feature_columns": {"numeric": ["x"], "categorical": ["c"]},
    }
    report = report_drift_from_training(frame, info, PARAMS)
    assert [row["psi"] for row in report["features"]] == [0, 0]
    assert [row["read_by_model"] for row in report["features"]] == [True, True]
    assert report["drifted_features"] == []
    assert report["warning"] is None
    assert (report["unseen_users"], report["unseen_share"]) == (0, 0)


def test_a_model_without_a_profile_stops_with_a_clear_error(spark, training):
    frame, _ = training
    with pytest.raises(ValueError, match="holds no feature_profile"):
        report_drift_from_training(frame, {"name": "old"}, PARAMS)


def test_rare_and_new_values_share_one_bucket(spark, training):
    """z (0.1 of the training rows) and q (never seen) are compared as one bucket."""
    _, profile = training
    rows = spark.createDataFrame(
        [("n1", 1.0, "z"), ("n2", 1.0, "q")], "user_id string, x double, c string"
    )
    counts = bucket_counts(rows, profile)
    (c_row,) = [
        row
        for row in feature_drift(counts, profile, set(), PARAMS)
        if row["feature"] == "c"
    ]
    # a 0.6 -> 0, b 0.3 -> 0, rare 0.1 -> 1.0, missing 0 both sides
    expected = (
        (FLOOR - 0.6) * math.log(FLOOR / 0.6)
        + (FLOOR - 0.3) * math.log(FLOOR / 0.3)
        + 0.9 * math.log(10)
    )
    assert c_row["psi"] == pytest.approx(expected, abs=1e-4)
    assert RARE not in profile["features"]["c"]["shares"]


def test_no_new_row_compares_nothing(spark, training):
    frame, profile = training
    info = {
        "name": "m",
        "feature_profile": profile,
        "feature_columns": {"numeric": ["x"], "categorical": []},
    }
    report = report_drift_from_training(frame.limit(0), info, PARAMS)
    assert [row["psi"] for row in report["features"]] == [None, None]
    assert (report["scored_users"], report["unseen_share"]) == (0, None)
    assert report["chance_psi"] is None
    assert report["warning"] is None


def test_the_warning_says_when_the_model_reads_no_drifted_feature(spark, training):
    _, profile = training
    rows = spark.createDataFrame(NEW_ROWS, "user_id string, x double, c string")
    info = {
        "name": "m",
        # the new rows' own users as the training users
        "feature_profile": {**profile, "user_ids": ["t1", "t2", "t3", "n1", "n2"]},
        "feature_columns": {"numeric": [], "categorical": []},
    }
    report = report_drift_from_training(rows, info, PARAMS)
    assert "The model reads none of them" in report["warning"]
    assert report["unseen_users"] == 0  # the rows themselves as training rows
