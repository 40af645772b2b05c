"""What the deployed model's training rows look like, feature by feature.

:func:`profile_features` reduces the training rows to a small JSON-able profile: per
numeric feature its median ("typical", for the reasons per user), quantile edges and the
share of rows in each bucket; per categorical feature its mode and the share of each value.
:func:`bucket_counts` puts any rows (the training rows, a new log's scoring rows) in the
same buckets in one Spark job, so that two populations can be compared bucket by bucket.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

#: The bucket of a missing value (null, or NaN for a double), numeric or categorical.
MISSING = "missing"
#: Relative error of Spark's quantile sketch for the edges and the median.
QUANTILE_ERROR = 0.001


def _quoted(text: str) -> str:
    """``text`` as a Spark SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _numeric_bucket(column: str, edges: list[float]) -> str:
    """``b<i>``: ``i`` = the number of ``edges`` below the value (buckets are closed on
    the right: a value equal to an edge falls in the lower bucket); ``missing`` for
    null or NaN. A Spark SQL string: one parse, not a JVM call per ``Column``."""
    value = f"CAST(`{column}` AS DOUBLE)"
    above = [
        f"CASE WHEN {value} > CAST('{edge!r}' AS DOUBLE) THEN 1 ELSE 0 END"
        for edge in edges
    ]
    index = " + ".join(above) or "0"
    return (
        f"CASE WHEN {value} IS NULL OR isnan({value}) THEN {_quoted(MISSING)} "
        f"ELSE concat('b', CAST({index} AS STRING)) END"
    )


def _bucket(column: str, entry: dict[str, Any]) -> str:
    if entry["kind"] == "numeric":
        return _numeric_bucket(column, entry["edges"])
    return f"coalesce(CAST(`{column}` AS STRING), {_quoted(MISSING)})"


def bucket_counts(rows: DataFrame, profile: dict[str, Any]) -> pd.DataFrame:
    """Rows per (``feature``, ``bucket``) for every feature of ``profile``, in one job.

    A numeric feature's buckets are ``b0`` .. ``b<k>`` (the profile's edges) and
    ``missing``; a categorical feature's are its values and ``missing``. Only buckets
    holding rows are listed. The result has one row per feature and bucket: it does not
    grow with ``rows``.
    """
    pairs = F.expr(
        "explode(array("
        + ", ".join(
            f"named_struct('feature', {_quoted(name)}, 'bucket', {_bucket(name, entry)})"
            for name, entry in profile["features"].items()
        )
        + "))"
    ).alias("pair")
    counted = (
        rows.select(pairs)
        .select("pair.feature", "pair.bucket")
        .groupBy("feature", "bucket")
        .count()
        .toPandas()
    )
    return counted.sort_values(["feature", "bucket"], ignore_index=True)


def bucket_shares(counts: pd.DataFrame, feature: str) -> dict[str, float]:
    """Share of rows per bucket of one ``feature`` in :func:`bucket_counts`' table."""
    own = counts[counts["feature"] == feature]
    total = own["count"].sum()
    return {
        bucket: float(count / total)
        for bucket, count in zip(own["bucket"], own["count"], strict=True)
    }


def profile_features(
    rows: DataFrame, numeric: list[str], categorical: list[str], bins: int
) -> dict[str, Any]:
    """The profile of ``rows`` (the module doc): ``rows`` and, per feature,

    - numeric: ``median``, ``edges`` (the distinct interior ``bins``-quantiles: with many
      equal values, fewer buckets), ``shares`` (bucket -> share of rows, ``missing``
      included when some are);
    - categorical: ``mode`` (the most frequent value) and ``shares`` (value -> share).

    Two Spark jobs: one quantile sketch of every numeric column, one :func:`bucket_counts`
    (whose counts also give ``rows``).
    """
    if bins < 2:
        raise ValueError(f"A feature profile needs at least 2 buckets, got {bins}.")
    levels = [index / bins for index in range(1, bins)]
    quantiles = (
        rows.approxQuantile(numeric, [0.5, *levels], QUANTILE_ERROR) if numeric else []
    )
    features: dict[str, dict[str, Any]] = {}
    for name, values in zip(numeric, quantiles, strict=True):
        # an empty sketch: every value is missing
        median, *edges = values or [None]
        features[name] = {
            "kind": "numeric",
            "median": median,
            "edges": sorted(set(edges)),
        }
    for name in categorical:
        features[name] = {"kind": "categorical"}
    counts = bucket_counts(rows, {"features": features})
    first = counts["feature"] == next(iter(features), None)
    profile = {"rows": int(counts.loc[first, "count"].sum()), "features": features}
    for name, entry in features.items():
        entry["shares"] = bucket_shares(counts, name)
        if entry["kind"] == "categorical":
            known = {v: s for v, s in entry["shares"].items() if v != MISSING}
            entry["mode"] = max(sorted(known), key=known.get) if known else None
    return profile
