"""Bootstrap over users (paired across models) and the expected AUC-PR over redrawn labels."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sparkify_kedro.evaluation._counting import (
    _auc_pr_of_counts,
    _class_ranking,
    _ranking,
    _ranking_metrics,
    _threshold_metrics_of_counts,
    _Workspace,
)
from sparkify_kedro.evaluation._inputs import _binary, _chunk_size, _scores
from sparkify_kedro.evaluation.definitions import (
    BOOTSTRAP_METRICS,
    CEILING,
    RANKING_METRICS,
    THRESHOLD_METRICS,
)

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
