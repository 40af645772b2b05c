"""Bootstrap over users (paired across models) and the expected AUC-PR over redrawn labels.

Both weigh the rows C ways at once (C resamples, or C draws of labels): a (C, rows)
matrix in score order, cumulated down the ranking, gives every metric of the C
(``metrics._ranking_metrics``); a loop over scikit-learn would be two orders of
magnitude slower. C keeps the matrices near 100,000 cells: larger arrays are mapped
afresh from the system at each allocation, and their page faults would cost more than
the arithmetic. Results do not depend on C.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from sparkify_kedro.evaluation.definitions import (
    BOOTSTRAP_METRICS,
    CEILING,
    RANKING_METRICS,
    THRESHOLD_METRICS,
)
from sparkify_kedro.evaluation.metrics import (
    _binary,
    _cumulative,
    _distinct_scores,
    _ranking_metrics,
    _scores,
    _threshold_metrics_of_counts,
)


def _chunk_size(n_rows: int, chunk_size: int | None) -> int:
    size = max(1, 100_000 // max(n_rows, 1)) if chunk_size is None else chunk_size
    if size < 1:
        raise ValueError("chunk_size must be positive.")
    return size


def _multiplicities(
    n_groups: int, n_resamples: int, seed: int, chunk_size: int
) -> Iterator[np.ndarray]:
    """(C, n_groups) integers: how often each group is drawn in each of C resamples.

    A resample draws ``n_groups`` groups uniformly with replacement, one resample after
    the other from one generator: the draws do not depend on ``chunk_size``.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, chunk_size):
        yield np.stack(
            [
                np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
                for _ in range(min(chunk_size, n_resamples - start))
            ]
        )


def group_multiplicities(n_groups: int, n_resamples: int, seed: int) -> np.ndarray:
    """The (n_resamples, n_groups) multiplicities :func:`bootstrap_metrics` draws.

    Group ``g`` is the ``g``-th of ``np.unique(groups)``; a row's weight in resample
    ``r`` is ``multiplicities[r, g]`` of its group. For checks and small cases.
    """
    return np.concatenate(
        list(_multiplicities(n_groups, n_resamples, seed, n_resamples))
    )


def _steps(y: np.ndarray, codes: np.ndarray, scores: np.ndarray):
    """For the churners and for the stayers: their groups in score order, and how many
    of them are ranked above each bound of the curves.

    The bounds are those of the distinct scores holding churners: between two of them, a
    run of scores holding only stayers is one step of every curve (same areas and lift).
    """
    order, bounds = _distinct_scores(scores)
    ranked_labels, ranked_codes = y[order], codes[order]
    holds = np.add.reduceat(ranked_labels, bounds[:-1]) > 0
    bounds = np.unique(np.r_[0, bounds[:-1][holds], bounds[1:][holds], len(y)])
    above = np.r_[0, np.cumsum(ranked_labels)][bounds]
    return (
        (ranked_codes[ranked_labels == 1], above),
        (ranked_codes[ranked_labels == 0], bounds - above),
    )


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

    ``groups`` gives each row's user; resample ``r`` weighs each row by how often its
    user was drawn (:func:`group_multiplicities`), the same for every model and metric,
    so that differences between models are paired. A draw is the weighted metric of the
    module doc: the AUCs are NaN in a resample with one class, the lift without
    churners. ``predictions_by_model`` (0/1 per row) is needed only for the threshold
    metrics. ``chunk_size`` resamples are evaluated at once (default: about 100,000
    resample x row cells); results do not depend on it.
    """
    y = _binary(labels, "labels")
    n = len(y)
    if set(metrics) - set(BOOTSTRAP_METRICS):
        raise ValueError(
            f"Unknown metrics: {sorted(set(metrics) - set(BOOTSTRAP_METRICS))}."
        )
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive.")
    if np.shape(groups) != (n,):
        raise ValueError(f"groups must be one-dimensional with {n} rows.")
    if n == 0:
        raise ValueError("Cannot resample without rows.")
    codes = np.unique(np.asarray(groups), return_inverse=True)[1].reshape(-1)
    n_groups = int(codes.max()) + 1
    ranked = [metric for metric in metrics if metric in RANKING_METRICS]
    steps = {
        model: _steps(y, codes, _scores(scores, n, f"scores of {model}"))
        for model, scores in scores_by_model.items()
    }
    # Each group's rows that are true / false positives, false / true negatives.
    confusion = {}
    if any(metric in THRESHOLD_METRICS for metric in metrics):
        if predictions_by_model is None:
            raise ValueError("The threshold metrics need predictions_by_model.")
        for model in steps:
            predicted = _binary(
                predictions_by_model[model], f"predictions of {model}", n
            )
            confusion[model] = [
                np.bincount(codes, (y == truth) & (predicted == guess), n_groups)
                for truth, guess in ((1, 1), (0, 1), (1, 0), (0, 0))
            ]

    draws = {
        model: {metric: np.empty(n_resamples) for metric in metrics} for model in steps
    }
    start = 0
    size = _chunk_size(n, chunk_size)
    for multiplicities in _multiplicities(n_groups, n_resamples, seed, size):
        stop = start + len(multiplicities)
        for model, classes in steps.items():
            values = {}
            if ranked:
                positives, negatives = (
                    _cumulative(np.take(multiplicities, class_codes, axis=1), above)
                    for class_codes, above in classes
                )
                values = _ranking_metrics(positives, negatives, ranked)
            if model in confusion:
                counts = [multiplicities @ rows for rows in confusion[model]]
                values.update(_threshold_metrics_of_counts(*counts))
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
    """Percentile interval of the paired differences ``a - b`` over the same resamples:
    ``mean_difference``, ``low``, ``high``, ``excludes_zero`` (``low > 0`` or
    ``high < 0``: the models differ at this confidence) and ``n_valid`` (resamples
    where both are defined; the others are ignored)."""
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
    themselves) are scored on the same draws. Per model: ``mean``, ``sd`` (across draws,
    ddof 1), ``sem`` (``sd / sqrt(n_valid)``), ``n_valid`` (draws with both classes;
    the others are NaN and skipped) and ``draws`` (the ``n_draws`` AUC-PRs, paired
    across models).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 1 or np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must be a 1-D array of values in [0, 1].")
    if CEILING in scores_by_model:
        raise ValueError(f"'{CEILING}' is reserved for the ceiling.")
    if n_draws < 1:
        raise ValueError("n_draws must be positive.")
    rankings = {
        model: _distinct_scores(_scores(scores, len(p), f"scores of {model}"))
        for model, scores in {CEILING: p, **scores_by_model}.items()
    }
    draws = {model: np.empty(n_draws) for model in rankings}
    rng = np.random.default_rng(seed)
    size = _chunk_size(len(p), chunk_size)
    for start in range(0, n_draws, size):
        stop = min(start + size, n_draws)
        labels = (rng.random((stop - start, len(p))) < p).astype(np.int64)
        for model, (order, bounds) in rankings.items():
            positives = _cumulative(np.take(labels, order, axis=1), bounds)
            auc = _ranking_metrics(positives, bounds - positives, ["auc_pr"])
            draws[model][start:stop] = auc["auc_pr"]
    summary = {}
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
