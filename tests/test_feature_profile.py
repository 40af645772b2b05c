"""The training rows' profile and the buckets any rows fall in (sparkify_kedro.feature_profile)."""

from __future__ import annotations

import pytest

from sparkify_kedro.feature_profile import MISSING, bucket_counts, profile_features


@pytest.fixture(scope="module")
def rows(spark):
    """Eight rows: ``x`` with ties at 0, a NaN and a null; ``c`` with a quote and a null;
    ``empty`` never known."""
    return spark.createDataFrame(
        [
            (0.0, "it's", None),
            (0.0, "it's", None),
            (0.0, "b", None),
            (1.0, "b", None),
            (2.0, "b", None),
            (3.0, None, None),
            (float("nan"), "b", None),
            (None, "b", None),
        ],
        "x double, c string, empty double",
    )


def test_profile_by_hand(rows):
    profile = profile_features(rows, ["x", "empty"], ["c"], bins=3)
    assert profile["rows"] == 8
    x = profile["features"]["x"]
    # known values 0, 0, 0, 1, 2, 3: median 0 (the lower middle), terciles 0 and 1
    assert x["median"] == 0.0
    assert x["edges"] == [0.0, 1.0]
    # b0: <= 0 (three), b1: (0, 1] (one), b2: > 1 (two), missing: NaN and null
    assert x["shares"] == {"b0": 3 / 8, "b1": 1 / 8, "b2": 2 / 8, MISSING: 2 / 8}
    assert profile["features"]["empty"] == {
        "kind": "numeric",
        "median": None,
        "edges": [],
        "shares": {MISSING: 1.0},
    }
    c = profile["features"]["c"]
    assert c["shares"] == {"it's": 2 / 8, "b": 5 / 8, MISSING: 1 / 8}
    assert c["mode"] == "b"


def test_new_rows_fall_in_the_profiles_buckets(spark, rows):
    profile = profile_features(rows, ["x"], ["c"], bins=3)
    new = spark.createDataFrame(
        [(-5.0, "it's"), (0.5, "new"), (1.0, None), (9.0, "b")], "x double, c string"
    )
    counts = bucket_counts(new, profile)
    assert sorted(counts.itertuples(index=False, name=None)) == [
        ("c", "b", 1),
        ("c", "it's", 1),
        ("c", MISSING, 1),
        ("c", "new", 1),
        ("x", "b0", 1),  # -5 <= 0
        ("x", "b1", 2),  # 0.5 and the edge 1.0 itself
        ("x", "b2", 1),
    ]
