"""A small synthetic ``model_input_table`` whose label is a clear function of one feature."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from pyspark.sql import DataFrame

CUTOFFS = [datetime(2018, 10, 22) + timedelta(days=7 * week) for week in range(4)]
FEATURE_COLUMNS = {
    "numeric": ["signal", "noise", "sessions"],
    "categorical": ["level_at_cutoff"],
}
FAST_CROSS_VALIDATION = {"num_folds": 2, "parallelism": 2}
#: The project's query settings: a table this small runs interpreted.
QUERY_EXECUTION = {"interpret_below_rows": 20000, "interpret": None}
FAST_ALGORITHMS = {
    "gbt": {
        "estimator": "GBTClassifier",
        "params": {"maxIter": 10, "seed": 1},
        "grid": {"maxDepth": [2]},
    },
    "random_forest": {
        "estimator": "RandomForestClassifier",
        "params": {"numTrees": 20, "seed": 1},
        "grid": {"maxDepth": [3]},
    },
    "logistic_regression": {
        "estimator": "LogisticRegression",
        "params": {"maxIter": 15},
        "grid": {"regParam": [0.0, 0.01]},
    },
    "linear_svc": {
        "estimator": "LinearSVC",
        "params": {"maxIter": 15},
        "grid": {"regParam": [0.01]},
    },
}


def synthetic_rows(n_users: int, seed: int = 7) -> list[tuple]:
    """(user_id, cutoff, label, churn_type, signal, noise, sessions, level_at_cutoff) rows.

    ``label`` = ``signal > 0.7``; ``sessions`` is sometimes missing, the level is noise.
    """
    rng = random.Random(seed)
    rows = []
    for user in range(n_users):
        for cutoff in CUTOFFS:
            signal = rng.random()
            label = int(signal > 0.7)
            rows.append(
                (
                    f"u{user}",
                    cutoff,
                    label,
                    "cancellation" if label else None,
                    signal,
                    rng.gauss(0, 1),
                    None if rng.random() < 0.1 else rng.randint(0, 20),
                    rng.choice(["free", "paid"]),
                )
            )
    return rows


MODEL_INPUT_SCHEMA = (
    "user_id string, cutoff timestamp, label int, churn_type string, signal double, "
    "noise double, sessions long, level_at_cutoff string"
)


@pytest.fixture(scope="session")
def model_input_table(spark) -> DataFrame:
    return spark.createDataFrame(synthetic_rows(80), MODEL_INPUT_SCHEMA).cache()
