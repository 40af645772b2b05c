"""Names and constants of the evaluation: the metrics, the baseline, the ceiling."""

from __future__ import annotations

TOP_DECILE = 0.1
#: Metrics computed from the ranking of the scores.
RANKING_METRICS = ("auc_pr", "auc_roc", "lift_top_decile")
#: Metrics computed from the 0/1 predictions.
THRESHOLD_METRICS = ("precision", "recall", "f1", "weighted_f1")
#: Every metric :func:`bootstrap_metrics` can resample, in the default order.
BOOTSTRAP_METRICS = ("auc_pr", "auc_roc", *THRESHOLD_METRICS, "lift_top_decile")
#: The feature set of the reference models that need no learning.
BASELINE = "baseline"


def model_name(feature_set: str, algorithm: str) -> str:
    """How a model is named in every table: ``LogisticRegression/all``, ``baseline/one_rule``."""
    if feature_set == BASELINE:
        return f"{BASELINE}/{algorithm}"
    return f"{algorithm}/{feature_set}"


#: Key of the ceiling (scores = the true probabilities) in :func:`expected_auc_pr`.
CEILING = "ceiling"
