"""Point metrics of one model's test scores: AUCs, lift, threshold metrics, curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sparkify_kedro.evaluation._counting import (
    _point_ranking_metrics,
    _ranking,
    _threshold_metrics_of_counts,
)
from sparkify_kedro.evaluation._inputs import _binary, _scores, _weights
from sparkify_kedro.evaluation.definitions import (
    RANKING_METRICS,
    TOP_DECILE,
)


def within_group_ranks(scores: pd.Series | pd.DataFrame, groups: object):
    """Scores as mid-ranks within their group, scaled into (0, 1): ``(rank - 0.5) / n``
    with ties sharing the mean rank, so that a constant is 0.5 in every group and the
    order within a group is kept. Scores of different units or of models fitted at
    different cutoffs (``groups``: each row's cutoff) then pool into one ranking. Missing
    scores stay missing and do not count in ``n``."""
    grouped = scores.groupby(groups)
    return (grouped.rank(method="average") - 0.5) / grouped.transform("count")


def auc_pr(labels: object, scores: object, weights: object = None) -> float:
    """Area under the precision-recall curve, as Spark's ``areaUnderPR`` (module doc).

    NaN when there is no churner or no stayer (of positive weight).
    """
    return _point_ranking_metrics(labels, scores, weights, ["auc_pr"])["auc_pr"]


def auc_roc(labels: object, scores: object, weights: object = None) -> float:
    """Area under the ROC curve, as Spark's ``areaUnderROC``; NaN with one class."""
    return _point_ranking_metrics(labels, scores, weights, ["auc_roc"])["auc_roc"]


def lift_at_top(
    labels: object, scores: object, fraction: float = TOP_DECILE, weights: object = None
) -> float:
    """Churn rate among the top ``fraction`` of rows by score, over the overall rate.

    The top is ``ceil(fraction * n)`` rows (``n`` = total weight when weighted); rows
    tied on the boundary score count pro rata. NaN without churners.
    """
    return _point_ranking_metrics(
        labels, scores, weights, ["lift_top_decile"], fraction
    )["lift_top_decile"]


def best_f1_threshold(labels: object, scores: object) -> float:
    """The score threshold (churn when ``score >= threshold``) that maximises F1.

    Candidates are the distinct scores; among equal F1 the highest threshold wins.
    Raises ValueError without churners.
    """
    y = _binary(labels, "labels")
    ranking = _ranking(_scores(scores, len(y)))
    n_pos = int(y.sum())
    if n_pos == 0:
        raise ValueError("Cannot choose a threshold: the labels hold no churner.")
    positives = np.cumsum(y[ranking.order])[ranking.ends]
    f1 = 2 * positives / (ranking.ends + 1 + n_pos)
    return float(ranking.thresholds[int(np.argmax(f1))])


def threshold_metrics(
    labels: object, predictions: object, weights: object = None
) -> dict[str, float]:
    """Precision, recall, F1 of churn and the support-weighted F1 (undefined ratios: 0)."""
    y = _binary(labels, "labels")
    predicted = _binary(predictions, "predictions", len(y))
    w = _weights(weights, len(y))
    row_weights = np.ones(len(y)) if w is None else w
    counts = {
        "tp": row_weights[(y == 1) & (predicted == 1)].sum(),
        "fp": row_weights[(y == 0) & (predicted == 1)].sum(),
        "fn": row_weights[(y == 1) & (predicted == 0)].sum(),
        "tn": row_weights[(y == 0) & (predicted == 0)].sum(),
    }
    metrics = _threshold_metrics_of_counts(
        **{key: np.array([value], dtype=np.float64) for key, value in counts.items()}
    )
    return {key: float(value[0]) for key, value in metrics.items()}


def evaluate_scores(
    labels: object, scores: object, predictions: object
) -> dict[str, float]:
    """Every test metric of one model, keyed as ``metrics.evaluate_predictions``.

    ``auc_pr``, ``auc_roc``, ``precision``, ``recall``, ``f1``, ``weighted_f1``,
    ``lift_top_decile`` (floats) and ``n_rows``, ``n_churners`` (ints).
    """
    y = _binary(labels, "labels")
    ranked = _point_ranking_metrics(y, scores, None, RANKING_METRICS)
    return {
        "auc_pr": ranked["auc_pr"],
        "auc_roc": ranked["auc_roc"],
        **threshold_metrics(y, predictions),
        "lift_top_decile": ranked["lift_top_decile"],
        "n_rows": len(y),
        "n_churners": int(y.sum()),
    }


def ranking_curve(labels: object, scores: object, score_grid: int) -> pd.DataFrame:
    """Cumulative counts of rows ranked by score: the ROC, PR and gains curves in one.

    Same columns and semantics as ``metrics.ranking_curve``: scores are rounded down to
    multiples of ``1 / score_grid``; one row per threshold, highest first, after a
    starting row where no one is selected: ``threshold``, ``selected``,
    ``churners_selected``, ``share_selected``, ``true_positive_rate``,
    ``false_positive_rate``, ``precision`` and ``lift``.
    """
    y = _binary(labels, "labels")
    s = _scores(scores, len(y))
    rounded = np.floor(s * score_grid) / score_grid
    steps = (
        pd.DataFrame({"threshold": rounded, "label": y})
        .groupby("threshold", sort=False)
        .agg(rows=("label", "size"), churners=("label", "sum"))
        .reset_index()
        .sort_values("threshold", ascending=False)
    )
    start = pd.DataFrame({"threshold": [math.inf], "rows": [0], "churners": [0]})
    curve = pd.concat([start, steps], ignore_index=True)
    curve["selected"] = curve["rows"].cumsum()
    curve["churners_selected"] = curve["churners"].cumsum()
    total, churners = float(curve["rows"].sum()), float(curve["churners"].sum())
    selected, hits = curve["selected"], curve["churners_selected"]
    curve["share_selected"] = selected / total if total else math.nan
    curve["true_positive_rate"] = hits / churners if churners else math.nan
    others = total - churners
    curve["false_positive_rate"] = (selected - hits) / others if others else math.nan
    curve["precision"] = (hits / selected.where(selected > 0)).astype(float)
    curve["lift"] = curve["precision"] / (churners / total) if churners else math.nan
    return curve[
        [
            "threshold",
            "selected",
            "churners_selected",
            "share_selected",
            "true_positive_rate",
            "false_positive_rate",
            "precision",
            "lift",
        ]
    ]
