"""Checks of the arrays every metric takes (labels, scores, weights) and the bootstrap's
chunk size: each returns the array as the counting expects it, or raises a clear error.

Internal to ``sparkify_kedro.evaluation``.
"""

from __future__ import annotations

import numpy as np

from sparkify_kedro.evaluation.definitions import CHUNK_CELLS


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
