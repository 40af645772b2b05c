"""The vectorised counting behind every metric: rankings, cumulative weights, AUC sums.

Internal to ``sparkify_kedro.evaluation``; the definitions are in the package docstring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sparkify_kedro.evaluation._inputs import _binary, _scores, _weights
from sparkify_kedro.evaluation.definitions import TOP_DECILE

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
