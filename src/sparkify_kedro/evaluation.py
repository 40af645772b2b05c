"""Test metrics of a churn classifier on the driver, with bootstrap intervals.

Pure numpy/pandas, for the bounded table of test scores (users x test cutoffs): one pass
of sorting per model, then vectorised sums, instead of a dozen Spark jobs per model. Inputs are 1-D arrays of the same
length: ``labels`` (1 = churn, 0 = stays), ``scores`` (higher = more likely to churn),
``predictions`` (0/1) and optional ``weights``: non-negative multiplicities, a row of
weight ``w`` counting as if it appeared ``w`` times (a weight of 0 drops the row).

Definitions (``P`` churners, ``N`` stayers, rows grouped by distinct score, best first;
at the ``k``-th distinct score, ``tp_k`` and ``fp_k`` count the churners and stayers
scored at or above it):

- **AUC-PR** is Spark's ``BinaryClassificationMetrics.areaUnderPR``: the trapezoidal area
  under the points ``(recall_k, precision_k) = (tp_k / P, tp_k / (tp_k + fp_k))``, one per
  distinct score, preceded by ``(0, precision_1)`` (the precision at the highest score,
  as Spark 4's ``pr()`` prepends). Ties are never split: a group of tied rows is one
  point. This is not scikit-learn's average precision (a step function), and it is the
  exact curve, i.e. Spark's ``BinaryClassificationEvaluator`` with ``numBins=0``; the
  evaluator's default ``numBins=1000`` only differs when there are at least 2,000
  distinct scores (Spark then merges consecutive scores into about 1,000 bins).
- **AUC-ROC** is Spark's ``areaUnderROC``: the trapezoidal area under
  ``(fp_k / N, tp_k / P)`` with ``(0, 0)`` and ``(1, 1)`` added, ties grouped (so it equals
  the probability that a churner outscores a stayer, ties counting one half).
- Both AUCs are NaN when there is no churner or no stayer.
- **Threshold metrics** compare ``predictions`` with ``labels``: precision, recall and F1
  of the churn class and scikit-learn's ``f1_score(average="weighted")`` (each class's F1
  weighted by its number of true rows); an undefined ratio counts as 0, as scikit-learn
  reports it.
- **Lift at the top** ``fraction``: the churn rate among the ``ceil(fraction * n)``
  best-scored rows over the overall churn rate (``n`` = number of rows, or total weight).
  Rows tied at the boundary score count pro rata, so a constant score has a lift of
  exactly 1. NaN without churners.
- **Best-F1 threshold**: among the distinct scores, the threshold ``t`` (predict churn
  when ``score >= t``) that maximises F1 = ``2 tp / (tp + fp + P)``; the highest ``t``
  among equal F1.

Bootstrap (:func:`bootstrap_metrics`) resamples users, not rows: a user's rows (one per
test cutoff) stay together. Each resample draws ``n_users`` users with replacement; a
row's weight is the number of times its user was drawn, and every metric is the
weighted metric above, so a draw equals the metric computed on the resampled rows.
Every model is evaluated on the same resamples: differences between models are paired
(:func:`paired_difference_interval`). :func:`expected_auc_pr` averages the AUC-PR over
labels redrawn from known churn probabilities (the simulator's ceiling).

The resampled metrics are vectorised: each model's rows are sorted by score once, and a
chunk of resamples is a (resamples x rows) integer weight matrix (churners and stayers
apart) whose cumulative sums give the counts at every distinct score of every resample
at once; the AUC sums then run over the churner rows only (the area grows only where
recall does, and the ROC area is the Mann-Whitney statistic). The point metrics use
the same code with one weighting. Chunks of resamples keep memory bounded.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

TOP_DECILE = 0.1
#: Metrics computed from the ranking of the scores.
RANKING_METRICS = ("auc_pr", "auc_roc", "lift_top_decile")
#: Metrics computed from the 0/1 predictions.
THRESHOLD_METRICS = ("precision", "recall", "f1", "weighted_f1")
#: Every metric :func:`bootstrap_metrics` can resample, in the default order.
BOOTSTRAP_METRICS = (
    "auc_pr",
    "auc_roc",
    "precision",
    "recall",
    "f1",
    "weighted_f1",
    "lift_top_decile",
)
#: The feature set of the reference models that need no learning.
BASELINE = "baseline"


def model_name(feature_set: str, algorithm: str) -> str:
    """How a model is named in every table: ``LogisticRegression/all``, ``baseline/one_rule``."""
    if feature_set == BASELINE:
        return f"{BASELINE}/{algorithm}"
    return f"{algorithm}/{feature_set}"


#: Key of the ceiling (scores = the true probabilities) in :func:`expected_auc_pr`.
CEILING = "ceiling"
#: Target number of (resample x row) cells per chunk: buffers of a few MB each.
CHUNK_CELLS = 1_000_000


# --- Input checks -------------------------------------------------------------------


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


def _weights(values: object, n: int) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n,):
        raise ValueError(f"weights must be one-dimensional with {n} rows.")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError("weights must be finite and non-negative.")
    return array


def _chunk_size(n_rows: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive.")
        return chunk_size
    return max(1, CHUNK_CELLS // max(n_rows, 1))


# --- Ranking: rows sorted by score, grouped by distinct score -------------------------


@dataclass(frozen=True)
class _Ranking:
    """One model's rows sorted by score (highest first), grouped by distinct score."""

    order: np.ndarray  # row indices, best score first (stable among ties)
    ends: np.ndarray  # position in ``order`` of the last row of each distinct score
    thresholds: np.ndarray  # the distinct scores, highest first
    bins: np.ndarray  # distinct score (index into ``thresholds``) of each ranked row


def _ranking(scores: np.ndarray) -> _Ranking:
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    starts = np.ones(len(ranked), dtype=bool)
    starts[1:] = ranked[1:] != ranked[:-1]
    ends = np.flatnonzero(np.append(starts[1:], True)) if len(ranked) else starts[:0]
    return _Ranking(
        order=order,
        ends=ends.astype(np.int64),
        thresholds=ranked[ends],
        bins=np.cumsum(starts) - 1,
    )


@dataclass(frozen=True)
class _ClassRanking:
    """A ranking split by class, for cumulative weights of churners and of stayers.

    ``positives_above[b]`` counts the churner rows strictly above distinct score ``b``
    (``b = 0 .. G``: ``positives_above[G]`` counts them all), likewise for stayers. For
    each churner row, in score order: ``pos_end`` / ``neg_end`` count the churner /
    stayer rows at or above its score, ``pos_start`` / ``neg_start`` strictly above.
    Without ties (the usual case with continuous scores) ``pos_end`` is 1, 2, 3, ...,
    ``pos_start = pos_end - 1`` and ``neg_start = neg_end``: the flags let the metrics
    skip gathers.
    """

    ranking: _Ranking
    positive_rows: np.ndarray
    negative_rows: np.ndarray
    positives_above: np.ndarray
    negatives_above: np.ndarray
    pos_start: np.ndarray
    pos_end: np.ndarray
    neg_start: np.ndarray
    neg_end: np.ndarray
    churners_untied: bool  # no two churners share a score
    stayers_apart: bool  # no stayer shares a churner's score


def _class_ranking(labels: np.ndarray, scores: np.ndarray) -> _ClassRanking:
    ranking = _ranking(scores)
    ranked_labels = labels[ranking.order]
    positive = ranked_labels == 1
    positives_above = np.concatenate(([0], np.cumsum(ranked_labels)[ranking.ends]))
    negatives_above = np.concatenate(([0], np.cumsum(1 - ranked_labels)[ranking.ends]))
    churner_bins = ranking.bins[positive]
    pos_end = positives_above[churner_bins + 1]
    neg_start = negatives_above[churner_bins]
    neg_end = negatives_above[churner_bins + 1]
    return _ClassRanking(
        ranking=ranking,
        positive_rows=ranking.order[positive],
        negative_rows=ranking.order[~positive],
        positives_above=positives_above,
        negatives_above=negatives_above,
        pos_start=positives_above[churner_bins],
        pos_end=pos_end,
        neg_start=neg_start,
        neg_end=neg_end,
        churners_untied=bool(np.array_equal(pos_end, np.arange(1, len(pos_end) + 1))),
        stayers_apart=bool(np.array_equal(neg_start, neg_end)),
    )


# --- Ranking metrics of many weightings at once ---------------------------------------
# C weightings of the same rows (bootstrap resamples, or one set of weights) come as a
# (C, K) ``source`` matrix and, for the churners and the stayers in score order, the
# column of ``source`` holding each one's weight (its group for resamples, its row for
# plain weights). Cumulative sums of the gathered (C, rows) weights give every count of
# every weighting at once; results are (C,) arrays.


class _Workspace:
    """Arrays reused from one chunk (and model) to the next.

    Fresh arrays of a few MB each cost page faults that dominate these simple passes:
    the kernels write into the same buffers, by name, instead.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: object) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = np.empty(shape, dtype=dtype)
            self._arrays[name] = array
        return array


def _cumulative_weights(
    source: np.ndarray, columns: np.ndarray, workspace: _Workspace, name: str
) -> np.ndarray:
    """(C, m + 1): the weight of the first ``j`` of the ``m`` rows in column ``j``."""
    shape = (source.shape[0], len(columns))
    weights = np.take(
        source, columns, axis=1, out=workspace.get(name, shape, source.dtype)
    )
    cumulative = workspace.get(
        f"{name}_cumulative", (shape[0], shape[1] + 1), source.dtype
    )
    cumulative[:, 0] = 0
    np.cumsum(weights, axis=1, out=cumulative[:, 1:])
    return cumulative


def _take_float(
    values: np.ndarray, columns: np.ndarray, workspace: _Workspace, name: str
) -> np.ndarray:
    """``values[:, columns]`` as floats, in workspace buffers."""
    shape = (values.shape[0], len(columns))
    taken = np.take(
        values, columns, axis=1, out=workspace.get(name, shape, values.dtype)
    )
    if taken.dtype == np.float64:
        return taken
    result = workspace.get(f"{name}_float", shape, np.float64)
    np.copyto(result, taken)
    return result


def _precision_into(
    churners: np.ndarray, stayers: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """``churners / (churners + stayers)`` into ``out``, 0 where both are 0."""
    np.add(churners, stayers, out=out)
    np.maximum(out, np.finfo(np.float64).tiny, out=out)
    return np.divide(churners, out, out=out)


def _ranking_metrics(
    source: np.ndarray,
    split: _ClassRanking,
    positive_columns: np.ndarray,
    negative_columns: np.ndarray,
    *,
    wanted: Sequence[str],
    fraction: float = TOP_DECILE,
    workspace: _Workspace | None = None,
) -> dict[str, np.ndarray]:
    """AUC-PR, AUC-ROC and lift (those in ``wanted``) of each weighting of the rows.

    ``source`` holds integers (resample multiplicities: exact cumulative sums in their
    own type, then floats) or floats.
    """
    workspace = workspace or _Workspace()
    above_pos = _cumulative_weights(source, positive_columns, workspace, "positives")
    above_neg = _cumulative_weights(source, negative_columns, workspace, "negatives")
    n_pos = above_pos[:, -1].astype(np.float64)
    n_neg = above_neg[:, -1].astype(np.float64)
    defined = (n_pos > 0) & (n_neg > 0)
    result: dict[str, np.ndarray] = {}
    shape = (len(source), len(positive_columns))
    if "auc_pr" in wanted or "auc_roc" in wanted:
        churner_weights = workspace.get("churner_weights", shape, np.float64)
        np.subtract(above_pos[:, 1:], above_pos[:, :-1], out=churner_weights)
        neg_end = _take_float(above_neg, split.neg_end, workspace, "neg_end")
        neg_start = (
            neg_end
            if split.stayers_apart
            else _take_float(above_neg, split.neg_start, workspace, "neg_start")
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        if "auc_roc" in wanted:
            # Trapezoids under the ROC curve add up to the Mann-Whitney statistic: each
            # churner beats the stayers scored below it, and half those tied with it,
            # i.e. n_neg - (neg_end + neg_start) / 2 of them.
            tied_twice = np.add(
                neg_end, neg_start, out=workspace.get("scratch", shape, np.float64)
            )
            doubled = 2 * n_pos * n_neg
            unbeaten = np.einsum("ij,ij->i", churner_weights, tied_twice)
            result["auc_roc"] = np.where(
                defined, (doubled - unbeaten) / doubled, np.nan
            )
        if "auc_pr" in wanted:
            # Only distinct scores holding churners add area: recall grows there by
            # their weight / n_pos, under the mean of the precision at that score and
            # at the one before (the prepended (0, first precision) before the first).
            above_pos_float = workspace.get(
                "above_pos_float", above_pos.shape, np.float64
            )
            np.copyto(above_pos_float, above_pos)
            if split.churners_untied:
                pos_end, pos_start = above_pos_float[:, 1:], above_pos_float[:, :-1]
            else:
                pos_end = _take_float(above_pos_float, split.pos_end, workspace, "pe")
                pos_start = _take_float(
                    above_pos_float, split.pos_start, workspace, "ps"
                )
            precision_end = _precision_into(
                pos_end, neg_end, workspace.get("precision_end", shape, np.float64)
            )
            nothing_before = np.equal(
                np.add(
                    pos_start,
                    neg_start,
                    out=workspace.get("scratch", shape, np.float64),
                ),
                0,
                out=workspace.get("nothing_before", shape, np.bool_),
            )
            precision_start = _precision_into(
                pos_start, neg_start, workspace.get("scratch", shape, np.float64)
            )
            np.copyto(precision_start, precision_end, where=nothing_before)
            precision_start += precision_end
            area = np.einsum("ij,ij->i", churner_weights, precision_start) / (2 * n_pos)
            result["auc_pr"] = np.where(defined, area, np.nan)
    if "lift_top_decile" in wanted:
        result["lift_top_decile"] = _lift_of_cumulative(
            above_pos, above_neg, split, fraction
        )
    return result


def _lift_of_cumulative(
    above_pos: np.ndarray, above_neg: np.ndarray, split: _ClassRanking, fraction: float
) -> np.ndarray:
    """Lift of the top ``ceil(fraction * n)``, ties on the boundary pro rata."""
    rows = np.arange(above_pos.shape[0])
    n_bins = len(split.positives_above) - 1

    def counts_above(bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(churners, rows) weighted, strictly above each row's distinct score."""
        positives = above_pos[rows, split.positives_above[bins]].astype(np.float64)
        negatives = above_neg[rows, split.negatives_above[bins]].astype(np.float64)
        return positives, positives + negatives

    n_pos, n_rows = counts_above(np.full(len(rows), n_bins))
    top = np.ceil(fraction * n_rows)
    # Binary search of the boundary: the first distinct score whose cumulative count
    # (at or above it) exceeds ``top``; n_bins when none does.
    low, high = np.zeros(len(rows), dtype=np.int64), np.full(len(rows), n_bins)
    while (low < high).any():
        middle = (low + high) // 2
        exceeds = counts_above(np.minimum(middle + 1, n_bins))[1] > top
        searching = low < high
        high = np.where(searching & exceeds, middle, high)
        low = np.where(searching & ~exceeds, middle + 1, low)
    inside = low < n_bins
    prev_pos, prev_rows = counts_above(low)
    end_pos, end_rows = counts_above(np.minimum(low + 1, n_bins))
    bin_pos, bin_rows = end_pos - prev_pos, end_rows - prev_rows
    # lift = (top churners / top) / (n_pos / n_rows), with top churners = prev_pos +
    # bin_pos * (top - prev_rows) / bin_rows; written over one denominator so that
    # integer counts give exact results (a constant score gives exactly 1).
    with np.errstate(divide="ignore", invalid="ignore"):
        numerator = np.where(
            inside,
            (prev_pos * bin_rows + bin_pos * (top - prev_rows)) * n_rows,
            n_pos * n_rows,
        )
        denominator = np.where(inside, top * n_pos * bin_rows, top * n_pos)
        lift = numerator / denominator
    return np.where((n_pos > 0) & (n_rows > 0), lift, np.nan)


def _auc_pr_of_counts(positives: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """AUC-PR from (C, G) weighted churners and rows at or above each distinct score."""
    n_pos = positives[:, -1]
    n_neg = totals[:, -1] - n_pos
    precision = positives / np.maximum(totals, np.finfo(np.float64).tiny)
    previous_precision = np.empty_like(precision)
    previous_precision[:, 1:] = precision[:, :-1]
    previous_precision[:, 0] = precision[:, 0]
    # Before the first distinct score with rows comes Spark's (0, first precision).
    previous_totals = np.zeros_like(totals)
    previous_totals[:, 1:] = totals[:, :-1]
    np.copyto(previous_precision, precision, where=previous_totals == 0)
    gained = np.diff(positives, axis=1, prepend=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        area = np.einsum("ij,ij->i", gained, precision + previous_precision) / (
            2 * n_pos
        )
    return np.where((n_pos > 0) & (n_neg > 0), area, np.nan)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0."""
    return np.divide(
        numerator,
        denominator,
        out=np.zeros(np.shape(numerator)),
        where=denominator != 0,
    )


def _threshold_metrics_of_counts(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray
) -> dict[str, np.ndarray]:
    f1_churn = _ratio(2 * tp, 2 * tp + fp + fn)
    f1_stay = _ratio(2 * tn, 2 * tn + fn + fp)
    churners, stayers = tp + fn, tn + fp
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": f1_churn,
        "weighted_f1": _ratio(
            churners * f1_churn + stayers * f1_stay, churners + stayers
        ),
    }


# --- Point metrics --------------------------------------------------------------------


def _point_ranking_metrics(
    labels: object,
    scores: object,
    weights: object,
    wanted: Sequence[str],
    fraction: float = TOP_DECILE,
) -> dict[str, float]:
    y = _binary(labels, "labels")
    s = _scores(scores, len(y))
    w = _weights(weights, len(y))
    if len(y) == 0:
        return dict.fromkeys(wanted, math.nan)
    row_weights = np.ones(len(y)) if w is None else w
    split = _class_ranking(y, s)
    values = _ranking_metrics(
        row_weights[None, :],
        split,
        split.positive_rows,
        split.negative_rows,
        wanted=wanted,
        fraction=fraction,
    )
    return {metric: float(values[metric][0]) for metric in wanted}


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


# --- Bootstrap over users ---------------------------------------------------------------


def _multiplicity_chunks(
    n_groups: int,
    n_resamples: int,
    seed: int,
    chunk_size: int,
    dtype: type[np.integer] = np.int32,
) -> Iterator[np.ndarray]:
    """(C, n_groups) integer arrays: how often each group is drawn in each resample.

    Each resample draws ``n_groups`` groups uniformly with replacement (multinomial
    multiplicities summing to ``n_groups``). Resamples are drawn one after the other from
    one generator, so the draws do not depend on ``chunk_size``.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, chunk_size):
        size = min(chunk_size, n_resamples - start)
        drawn = np.stack(
            [rng.integers(0, n_groups, size=n_groups) for _ in range(size)]
        ).astype(np.int64)
        drawn += np.arange(size)[:, None] * n_groups
        counts = np.bincount(drawn.ravel(), minlength=size * n_groups)
        yield counts.reshape(size, n_groups).astype(dtype)


def group_multiplicities(n_groups: int, n_resamples: int, seed: int) -> np.ndarray:
    """The (n_resamples, n_groups) multiplicities :func:`bootstrap_metrics` draws.

    Group ``g`` is the ``g``-th of ``np.unique(groups)``; a row's weight in resample
    ``r`` is ``multiplicities[r, g]`` of its group. For checks and small cases.
    """
    return np.concatenate(
        list(_multiplicity_chunks(n_groups, n_resamples, seed, max(n_resamples, 1)))
    )


@dataclass(frozen=True)
class _GroupedConfusion:
    """A model's true positives, false positives and false negatives, by group.

    For each kind, the groups holding such rows and how many (the true negatives are
    the rest): the resampled count is a short dot product with the multiplicities.
    """

    groups: tuple[np.ndarray, np.ndarray, np.ndarray]
    rows: tuple[np.ndarray, np.ndarray, np.ndarray]


def _grouped_confusion(
    labels: np.ndarray, predicted: np.ndarray, codes: np.ndarray
) -> _GroupedConfusion:
    kinds = [
        (labels == 1) & (predicted == 1),
        (labels == 0) & (predicted == 1),
        (labels == 1) & (predicted == 0),
    ]
    found = [np.unique(codes[kind], return_counts=True) for kind in kinds]
    return _GroupedConfusion(
        groups=tuple(groups for groups, _ in found),
        rows=tuple(rows.astype(np.float64) for _, rows in found),
    )


def _resampled_threshold_metrics(
    multiplicities: np.ndarray, resampled_rows: np.ndarray, confusion: _GroupedConfusion
) -> dict[str, np.ndarray]:
    # einsum (not ``@``): no BLAS threads for these short products.
    tp, fp, fn = (
        np.einsum("ij,j->i", np.take(multiplicities, groups, axis=1), rows)
        for groups, rows in zip(confusion.groups, confusion.rows, strict=True)
    )
    return _threshold_metrics_of_counts(tp, fp, fn, resampled_rows - tp - fp - fn)


def _group_codes(groups: object, n: int) -> tuple[np.ndarray, int]:
    """Each row's group as 0 .. n_groups - 1 (the order of ``np.unique``)."""
    group_array = np.asarray(groups)
    if group_array.shape != (n,):
        raise ValueError(f"groups must be one-dimensional with {n} rows.")
    if n == 0:
        raise ValueError("Cannot resample without rows.")
    _, codes = np.unique(group_array, return_inverse=True)
    codes = codes.reshape(-1)
    return codes, int(codes.max()) + 1


def bootstrap_metrics(  # noqa: PLR0917 (the positional order is the documented API)
    labels: object,
    scores_by_model: Mapping[str, object],
    predictions_by_model: Mapping[str, object] | None,
    groups: object,
    n_resamples: int,
    seed: int,
    metrics: Sequence[str] = BOOTSTRAP_METRICS,
    *,
    chunk_size: int | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Cluster-bootstrap draws of each model's metrics: ``{model: {metric: draws}}``.

    ``groups`` gives each row's user: a resample draws ``n_users`` users with
    replacement and weights each row by its user's multiplicity (every row of a user,
    e.g. one per test cutoff, goes in or out together). Each ``draws`` array has
    ``n_resamples`` values, resample ``r`` of every model and metric coming from the
    same multiplicities (see :func:`group_multiplicities`), so that differences between
    models are paired. A draw is the weighted metric of the module doc on the resample:
    AUCs are NaN in a resample with one class, the lift is NaN without churners, and
    the threshold metrics keep their undefined-ratio-is-0 convention.

    ``predictions_by_model`` (0/1 per row) is needed only for the threshold metrics.
    Resamples are processed ``chunk_size`` at a time (default: about a million
    resample x row cells), which bounds the memory; results do not depend on it.
    """
    y = _binary(labels, "labels")
    n = len(y)
    unknown = set(metrics) - set(BOOTSTRAP_METRICS)
    if unknown:
        raise ValueError(f"Unknown metrics: {sorted(unknown)}.")
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive.")
    codes, n_groups = _group_codes(groups, n)
    models = list(scores_by_model)
    ranked_metrics = [metric for metric in metrics if metric in RANKING_METRICS]
    thresholded = any(metric in THRESHOLD_METRICS for metric in metrics)
    if thresholded and predictions_by_model is None:
        raise ValueError("The threshold metrics need predictions_by_model.")

    # A row's weight is its group's multiplicity: each model keeps its churners' and
    # stayers' groups in score order, and its confusion counts by group.
    splits = {}
    confusions = {}
    for model in models:
        if ranked_metrics:
            scores = _scores(scores_by_model[model], n, f"scores of {model}")
            split = _class_ranking(y, scores)
            splits[model] = (
                split,
                codes[split.positive_rows],
                codes[split.negative_rows],
            )
        if thresholded:
            predicted = _binary(
                predictions_by_model[model], f"predictions of {model}", n
            )
            confusions[model] = _grouped_confusion(y, predicted, codes)
    rows_per_group = np.bincount(codes, minlength=n_groups).astype(np.float64)
    # Cumulative weights are exact integers: int32 unless a resample could exceed it.
    dtype = np.int32 if n_groups * rows_per_group.max() < 2**31 else np.int64

    draws = {
        model: {metric: np.empty(n_resamples) for metric in metrics} for model in models
    }
    size = _chunk_size(n, chunk_size)
    workspace = _Workspace()
    start = 0
    for multiplicities in _multiplicity_chunks(
        n_groups, n_resamples, seed, size, dtype
    ):
        stop = start + len(multiplicities)
        resampled_rows = np.einsum("ij,j->i", multiplicities, rows_per_group)
        for model in models:
            values: dict[str, np.ndarray] = {}
            if ranked_metrics:
                split, positive_groups, negative_groups = splits[model]
                values.update(
                    _ranking_metrics(
                        multiplicities,
                        split,
                        positive_groups,
                        negative_groups,
                        wanted=ranked_metrics,
                        workspace=workspace,
                    )
                )
            if thresholded:
                values.update(
                    _resampled_threshold_metrics(
                        multiplicities, resampled_rows, confusions[model]
                    )
                )
            for metric in metrics:
                draws[model][metric][start:stop] = values[metric]
        start = stop
    return draws


def percentile_interval(draws: object, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval: the (1 - confidence) / 2 and (1 + confidence) / 2
    quantiles (linear interpolation) of the draws, NaN draws ignored; (NaN, NaN) when
    every draw is NaN."""
    values = np.asarray(draws, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1.")
    if values.size == 0:
        return math.nan, math.nan
    low, high = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def paired_difference_interval(
    draws_a: object, draws_b: object, confidence: float = 0.95
) -> dict[str, float | bool | int]:
    """Percentile interval of the paired differences ``a - b`` over the same resamples.

    Returns ``mean_difference`` (mean of the differences), ``low`` and ``high`` (the
    percentile interval), ``excludes_zero`` (``low > 0`` or ``high < 0``: the models
    differ at this confidence) and ``n_valid`` (resamples where both are defined;
    the others are ignored).
    """
    a = np.asarray(draws_a, dtype=np.float64)
    b = np.asarray(draws_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("The draws must be one-dimensional arrays of the same length.")
    differences = a - b
    differences = differences[~np.isnan(differences)]
    low, high = percentile_interval(differences, confidence)
    return {
        "mean_difference": float(differences.mean()) if differences.size else math.nan,
        "low": low,
        "high": high,
        "excludes_zero": bool(low > 0 or high < 0),
        "n_valid": int(differences.size),
    }


# --- Expected AUC-PR over redrawn labels --------------------------------------------------


def expected_auc_pr(
    probabilities: object,
    scores_by_model: Mapping[str, object],
    n_draws: int,
    seed: int,
    *,
    chunk_size: int | None = None,
) -> dict[str, dict[str, float | int | np.ndarray]]:
    """Each model's AUC-PR averaged over labels redrawn from the true probabilities.

    Every draw sets each row's label to 1 with its probability, independently; all
    models (and the ceiling, key ``"ceiling"``, which ranks rows by the probabilities
    themselves) are scored on the same draws. Per model: ``mean``, ``sd`` (standard
    deviation across draws, ddof 1), ``sem`` (standard error of the mean,
    ``sd / sqrt(n_valid)``), ``n_valid`` (draws with both classes; the others are NaN
    and skipped) and ``draws`` (the ``n_draws`` per-draw AUC-PRs, paired across models).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 1 or np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must be a 1-D array of values in [0, 1].")
    if CEILING in scores_by_model:
        raise ValueError(f"'{CEILING}' is reserved for the ceiling.")
    if n_draws < 1:
        raise ValueError("n_draws must be positive.")
    n = len(p)
    all_scores = {CEILING: p, **scores_by_model}
    rankings = {
        model: _ranking(_scores(scores, n, f"scores of {model}"))
        for model, scores in all_scores.items()
    }
    draws = {model: np.empty(n_draws) for model in all_scores}
    rng = np.random.default_rng(seed)
    size = _chunk_size(n, chunk_size)
    for start in range(0, n_draws, size):
        stop = min(start + size, n_draws)
        labels = (rng.random((stop - start, n)) < p).astype(np.int32)
        for model, ranking in rankings.items():
            ranked = np.take(labels, ranking.order, axis=1)
            positives = np.cumsum(ranked, axis=1, out=ranked)[:, ranking.ends]
            totals = np.broadcast_to(ranking.ends + 1, positives.shape)
            draws[model][start:stop] = _auc_pr_of_counts(positives, totals)
    summary: dict[str, dict[str, float | int | np.ndarray]] = {}
    for model, values in draws.items():
        valid = values[~np.isnan(values)]
        sd = float(valid.std(ddof=1)) if valid.size > 1 else math.nan
        summary[model] = {
            "mean": float(valid.mean()) if valid.size else math.nan,
            "sd": sd,
            "sem": sd / math.sqrt(valid.size) if valid.size > 1 else math.nan,
            "n_valid": int(valid.size),
            "draws": values,
        }
    return summary
