"""Nodes of the ``feature_engineering`` pipeline: ``user_features`` and ``model_input_table``.

The features themselves are computed in ``sparkify_kedro.features`` (shared with scoring).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame

from sparkify_kedro.features import compute_user_features, feature_window_params


def build_user_features(
    clean_events: DataFrame,
    churn_labels: DataFrame,
    churn_task: dict[str, Any],
    feature_params: dict[str, Any],
) -> DataFrame:
    """``user_features``: the features of ``feature_params["feature_groups"]`` for every
    (user_id, cutoff) of ``churn_labels``, over the windows of ``churn_task``.

    In user mode the window is every event before the cutoff (the classic set-up).
    """
    return compute_user_features(
        clean_events, churn_labels, feature_window_params(churn_task, feature_params)
    )


def build_model_input_table(
    user_features: DataFrame, churn_labels: DataFrame
) -> DataFrame:
    """``model_input_table``: user_id, cutoff, label, churn_type, then the features."""
    features = [
        name for name in user_features.columns if name not in ("user_id", "cutoff")
    ]
    return user_features.join(
        churn_labels.select("user_id", "cutoff", "label", "churn_type"),
        ["user_id", "cutoff"],
    ).select("user_id", "cutoff", "label", "churn_type", *features)
