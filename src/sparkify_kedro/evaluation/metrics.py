"""Point metrics of one model's test scores (scikit-learn's where it has them), and the
counting the bootstrap shares: weights cumulated down the ranking, and the AUCs and
lift of many weightings of the same rows at once."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sparkify_kedro.evaluation.definitions import TOP_DECILE


def _binary(values: object, name: str, n: int | None = None) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional.")
    if n is not None and len(array) != n:
        raise ValueError(f"{name} has {len(array)} rows, expected {n}.")
    if not np.isin(array, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1.")
    return array.astype(np.int64)


def _scores(values: object, n: int, name: str = "scores") -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"{name} must be one-dimensional with {n} rows.")
    if np.isnan(array).any():
        raise ValueError(f"{name} hold NaN.")
    return array


def _weights(values: object, n: int) -> np.ndarray:
    """The weights, ones when there are none."""
    array = np.ones(n) if values is None else np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"weights must be one-dimensional with {n} rows.")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError("weights must be finite and non-negative.")
    return array


# --- Counting down the ranking (shared with the bootstrap) ----------------------------


def _distinct_scores(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows in score order (highest first, stable) and the ``G + 1`` bounds of the
    ``G`` distinct scores in that order: rows ``bounds[g]:bounds[g + 1]`` share one."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    changes = np.flatnonzero(ranked[1:] != ranked[:-1]) + 1
    return order, np.concatenate(([0], changes, [len(scores)]))


def _cumulative(weights: np.ndarray, at: np.ndarray) -> np.ndarray:
    """(C, len(at)) floats from (C, m) weights: column ``j`` sums the first ``at[j]``
    columns. Integer weights (counts) are summed as integers: exact, and several times
    faster in numpy than floats."""
    cumulative = np.zeros((weights.shape[0], weights.shape[1] + 1), weights.dtype)
    np.cumsum(weights, axis=1, out=cumulative[:, 1:])
    return np.take(cumulative, at, axis=1).astype(np.float64)


def _ranking_metrics(
    positives: np.ndarray,
    negatives: np.ndarray,
    wanted: Sequence[str],
    fraction: float = TOP_DECILE,
) -> dict[str, np.ndarray]:
    """AUC-PR, AUC-ROC and lift (those in ``wanted``) of C weightings of the rows.

    ``positives`` and ``negatives`` (C, G + 1): the weight of the churners and of the
    stayers ranked above each of G + 1 bounds between distinct scores, in score order
    (the first above no row, the last above all): the points of the curves.
    """
    totals = positives + negatives
    n_pos, n_neg, n_rows = positives[:, -1], negatives[:, -1], totals[:, -1]
    defined = (n_pos > 0) & (n_neg > 0)
    gained = np.diff(positives, axis=1)  # the churners between two bounds
    result = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if "auc_roc" in wanted:
            # The trapezoids add up to the Mann-Whitney statistic: the churners at a
            # score beat the stayers below it and half of those tied with it.
            unbeaten = np.vecdot(gained, negatives[:, :-1] + negatives[:, 1:])
            doubled = 2 * n_pos * n_neg
            result["auc_roc"] = np.where(
                defined, (doubled - unbeaten) / doubled, np.nan
            )
        if "auc_pr" in wanted:
            # Recall grows by gained / n_pos, under the mean of the precision at the
            # bound and at the one before; before the first rows comes Spark's
            # (0, their precision).
            precision = positives / np.fmax(totals, np.finfo(np.float64).tiny)
            before = np.where(totals[:, :-1] == 0, precision[:, 1:], precision[:, :-1])
            area = np.vecdot(gained, before + precision[:, 1:]) / (2 * n_pos)
            result["auc_pr"] = np.where(defined, area, np.nan)
        if "lift_top_decile" in wanted:
            # The top's boundary: the first step whose rows reach past ``top``, its
            # rows counting pro rata (G: none does, ``top`` is every row).
            top = np.ceil(fraction * n_rows)
            step = (totals[:, 1:] <= top[:, None]).sum(axis=1)
            last, rows = totals.shape[1] - 1, np.arange(len(top))
            after = np.minimum(step + 1, last)
            pos, count = positives[rows, step], totals[rows, step]
            step_pos = positives[rows, after] - pos
            step_rows = totals[rows, after] - count
            # lift = (top churners / top) / (n_pos / n_rows), with top churners = pos +
            # step_pos * (top - count) / step_rows, over one denominator so that integer
            # counts give exact results (a constant score has a lift of exactly 1).
            inside = step < last
            lift = np.where(
                inside,
                (pos * step_rows + step_pos * (top - count)) * n_rows,
                n_pos * n_rows,
            ) / np.where(inside, top * n_pos * step_rows, top * n_pos)
            result["lift_top_decile"] = np.where(n_pos > 0, lift, np.nan)
    return result


def _threshold_metrics_of_counts(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray
) -> dict[str, np.ndarray]:
    """The threshold metrics from the (weighted) confusion counts; undefined ratios: 0."""

    def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        out = np.zeros(np.shape(numerator))
        return np.divide(numerator, denominator, out=out, where=denominator != 0)

    f1_churn, f1_stay = ratio(2 * tp, 2 * tp + fp + fn), ratio(2 * tn, 2 * tn + fn + fp)
    churners, stayers = tp + fn, tn + fp
    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": f1_churn,
        "weighted_f1": ratio(
            churners * f1_churn + stayers * f1_stay, churners + stayers
        ),
    }


# --- Point metrics ----------------------------------------------------------------------


def within_group_ranks(scores: pd.Series | pd.DataFrame, groups: object):
    """Scores as mid-ranks within their group, scaled into (0, 1): ``(rank - 0.5) / n``
    with ties sharing the mean rank, so that a constant is 0.5 in every group and the
    order within a group is kept. Scores of different units or of models fitted at
    different cutoffs (``groups``: each row's cutoff) then pool into one ranking. Missing
    scores stay missing and do not count in ``n``."""
    grouped = scores.groupby(groups)
    return (grouped.rank(method="average") - 0.5) / grouped.transform("count")


def _checked(labels: object, scores: object, weights: object):
    """Labels, scores, weights, and whether both classes have a positive weight."""
    y = _binary(labels, "labels")
    s, w = _scores(scores, len(y)), _weights(weights, len(y))
    return y, s, w, bool(w[y == 1].sum() > 0 and w[y == 0].sum() > 0)


def auc_pr(labels: object, scores: object, weights: object = None) -> float:
    """Area under the precision-recall curve, as Spark's ``areaUnderPR`` (module doc);
    NaN when there is no churner or no stayer (of positive weight)."""
    y, s, w, both_classes = _checked(labels, scores, weights)
    if not both_classes:
        return math.nan
    from sklearn.metrics import auc, precision_recall_curve  # noqa: PLC0415

    precision, recall, _ = precision_recall_curve(y, s, sample_weight=w)
    # The points run from the lowest score to scikit-learn's closing (0, 1); Spark's
    # curve starts at (0, the precision at the highest score) instead.
    precision[-1] = precision[-2]
    return float(auc(recall, precision))


def auc_roc(labels: object, scores: object, weights: object = None) -> float:
    """Area under the ROC curve, as Spark's ``areaUnderROC``; NaN with one class."""
    y, s, w, both_classes = _checked(labels, scores, weights)
    if not both_classes:
        return math.nan
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    return float(roc_auc_score(y, s, sample_weight=w))


def lift_at_top(
    labels: object, scores: object, fraction: float = TOP_DECILE, weights: object = None
) -> float:
    """Churn rate among the top ``fraction`` of rows by score over the overall rate
    (module doc); NaN without churners."""
    y, s, w, _ = _checked(labels, scores, weights)
    order, bounds = _distinct_scores(s)
    churners, stayers = ((w * kind)[order][None, :] for kind in (y, 1 - y))
    lift = _ranking_metrics(
        _cumulative(churners, bounds),
        _cumulative(stayers, bounds),
        ["lift_top_decile"],
        fraction,
    )
    return float(lift["lift_top_decile"][0])


def best_f1_threshold(labels: object, scores: object) -> float:
    """The distinct score that, as a threshold (churn when ``score >= threshold``),
    maximises F1, the highest among equal F1. Raises ValueError without churners."""
    y = _binary(labels, "labels")
    s = _scores(scores, len(y))
    if not y.any():
        raise ValueError("Cannot choose a threshold: the labels hold no churner.")
    order, bounds = _distinct_scores(s)
    true_positives = np.cumsum(y[order])[bounds[1:] - 1]
    f1 = 2 * true_positives / (bounds[1:] + y.sum())
    return float(s[order][bounds[int(np.argmax(f1))]])


def threshold_metrics(
    labels: object, predictions: object, weights: object = None
) -> dict[str, float]:
    """Precision, recall, F1 of churn and the support-weighted F1 (undefined ratios: 0)."""
    y = _binary(labels, "labels")
    predicted = _binary(predictions, "predictions", len(y))
    w = _weights(weights, len(y))
    if not w.sum() > 0:
        return dict.fromkeys(("precision", "recall", "f1", "weighted_f1"), 0.0)
    from sklearn.metrics import precision_recall_fscore_support  # noqa: PLC0415

    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=[0, 1], sample_weight=w, zero_division=0
    )
    return {
        "precision": float(precision[1]),
        "recall": float(recall[1]),
        "f1": float(f1[1]),
        "weighted_f1": float(f1 @ support / support.sum()),
    }


def evaluate_scores(
    labels: object, scores: object, predictions: object
) -> dict[str, float]:
    """Every test metric of one model: the seven of ``BOOTSTRAP_METRICS`` (floats) and
    ``n_rows``, ``n_churners`` (ints)."""
    y = _binary(labels, "labels")
    return {
        "auc_pr": auc_pr(y, scores),
        "auc_roc": auc_roc(y, scores),
        **threshold_metrics(y, predictions),
        "lift_top_decile": lift_at_top(y, scores),
        "n_rows": len(y),
        "n_churners": int(y.sum()),
    }


def ranking_curve(labels: object, scores: object, score_grid: int) -> pd.DataFrame:
    """Cumulative counts of rows ranked by score: the ROC, PR and gains curves in one.

    Scores are rounded down to multiples of ``1 / score_grid``; one row per threshold,
    highest first, after a starting row (threshold inf) where no one is selected:
    ``threshold``, ``selected``, ``churners_selected``, ``share_selected``,
    ``true_positive_rate``, ``false_positive_rate``, ``precision`` and ``lift`` (NaN
    where undefined).
    """
    y = _binary(labels, "labels")
    rounded = np.floor(_scores(scores, len(y)) * score_grid) / score_grid
    steps = pd.Series(y).groupby(rounded).agg(["size", "sum"]).sort_index()[::-1]
    selected = np.concatenate(([0], steps["size"].cumsum()))
    hits = np.concatenate(([0], steps["sum"].cumsum()))
    total, churners = np.float64(len(y)), np.float64(y.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {
                "threshold": np.concatenate(([math.inf], steps.index)),
                "selected": selected,
                "churners_selected": hits,
                "share_selected": selected / total,
                "true_positive_rate": hits / churners,
                "false_positive_rate": (selected - hits) / (total - churners),
                "precision": hits / selected,
                "lift": hits / selected / (churners / total),
            }
        )
