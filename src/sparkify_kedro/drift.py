"""How far a new log's scoring rows have moved from the deployed model's training rows.

:func:`report_drift_from_training` (the ``inference`` node) bins a new log's scoring rows
in the buckets of the training profile (``best_model_info["feature_profile"]``,
:mod:`sparkify_kedro.feature_profile`) in one Spark job and gives, per feature, the
population stability index (PSI) of the new rows against the training rows, and the share
of scored users the training rows never held.

PSI of a feature = sum over its buckets of ``(p_new - p_ref) * ln(p_new / p_ref)``, the
shares of rows in each bucket; 0 when both agree, 0.1 a small move, above 0.2 a move the
model may not have been trained for (the usual reading, and the default threshold). An
empty bucket on either side would make it infinite: each share is raised to at least
``share_floor`` (1e-4 by default).

Buckets: chance alone moves PSI by about ``(k - 1) * (1 / n_new + 1 / n_ref)`` for ``k``
buckets, so the profile's buckets (training quantiles of numeric features, every value of
categorical ones) are first merged until each holds at least ``min_bucket_share`` of the
training rows: adjacent numeric buckets in order, rare categorical values (and values the
training rows never had) in one bucket (:data:`RARE`). Missing values keep a bucket of
their own (a broken export shows there).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.feature_profile import MISSING, bucket_counts, bucket_shares

#: The bucket of categorical values rare in (or absent from) the training rows.
RARE = "(rare or new values)"
#: ``yes`` / ``no``: whether a scoring row's user has a training row (counted as a feature).
SEEN_IN_TRAINING = "__seen_in_training"


def population_stability_index(
    reference: dict[str, float], new: dict[str, float], share_floor: float
) -> float:
    """PSI of two bucket -> share maps (a bucket missing from one side has share 0):
    ``sum((p_new - p_ref) * ln(p_new / p_ref))`` with every share raised to
    ``share_floor`` first."""
    total = 0.0
    for bucket in sorted(set(reference) | set(new)):
        p_ref = max(reference.get(bucket, 0.0), share_floor)
        p_new = max(new.get(bucket, 0.0), share_floor)
        total += (p_new - p_ref) * math.log(p_new / p_ref)
    return total


def _numeric_groups(entry: dict[str, Any], min_share: float) -> dict[str, str]:
    """Bucket -> merged bucket of a numeric feature: adjacent buckets ``b0``.. taken in
    order until the group holds ``min_share`` of the training rows (a short last group
    joins the one before); ``missing`` stays alone. Merged buckets are named by their
    first and last bucket (``b0-b2``)."""
    shares = entry["shares"]
    groups: list[list[str]] = []
    held = 0.0
    for index in range(len(entry["edges"]) + 1):
        bucket = f"b{index}"
        if not groups or held >= min_share:
            groups.append([])
            held = 0.0
        groups[-1].append(bucket)
        held += shares.get(bucket, 0.0)
    if len(groups) > 1 and held < min_share:
        groups[-2].extend(groups.pop())
    names = {
        bucket: group[0] if len(group) == 1 else f"{group[0]}-{group[-1]}"
        for group in groups
        for bucket in group
    }
    return {**names, MISSING: MISSING}


def _regroup(
    shares: dict[str, float], entry: dict[str, Any], min_share: float
) -> dict[str, float]:
    """``shares`` (bucket -> share, training's or a new log's) in the merged buckets of
    the feature ``entry`` of the profile (the module doc)."""
    if entry["kind"] == "numeric":
        groups = _numeric_groups(entry, min_share)
    else:
        groups = {
            value: value
            for value, share in entry["shares"].items()
            if share >= min_share
        }
        groups[MISSING] = MISSING
    merged: dict[str, float] = {}
    for bucket, share in shares.items():
        group = groups.get(bucket, RARE)
        merged[group] = merged.get(group, 0.0) + share
    return merged


def feature_drift(
    counts: pd.DataFrame,
    profile: dict[str, Any],
    model_features: set[str],
    drift_params: dict[str, Any],
) -> list[dict[str, Any]]:
    """Per feature of ``profile``: its PSI between the profile's shares and the new rows'
    (``counts``: :func:`~sparkify_kedro.feature_profile.bucket_counts` of them), in the
    merged buckets (the module doc); ``drifted`` when PSI > ``psi_threshold``;
    ``read_by_model`` when in ``model_features``; ``buckets``: how many were compared.
    Sorted by PSI, largest first (PSI None when ``counts`` holds no row)."""
    min_share, floor = drift_params["min_bucket_share"], drift_params["share_floor"]
    rows = []
    for name, entry in profile["features"].items():
        reference = _regroup(entry["shares"], entry, min_share)
        new = _regroup(bucket_shares(counts, name), entry, min_share)
        # no new row (nobody at risk): nothing to compare
        psi = float(population_stability_index(reference, new, floor)) if new else None
        rows.append(
            {
                "feature": name,
                "psi": None if psi is None else round(psi, 4),
                "buckets": len(set(reference) | set(new)),
                "drifted": psi is not None and psi > drift_params["psi_threshold"],
                "read_by_model": name in model_features,
            }
        )
    return sorted(rows, key=lambda row: (-(row["psi"] or 0), row["feature"]))


def _chance_psi(buckets: int, new_rows: int, reference_rows: int) -> float | None:
    """About the PSI two samples of these sizes from one population show by chance
    alone, with ``buckets`` buckets: ``(buckets - 1) * (1 / new + 1 / reference)`` (the
    mean of its chi-square approximation); None without rows."""
    if not new_rows or not reference_rows:
        return None
    return round((buckets - 1) * (1 / new_rows + 1 / reference_rows), 4)


def _warning(drifted: list[dict[str, Any]], threshold: float) -> str | None:
    """One plain sentence naming the drifted features (those the model reads first), or
    None when none drifted."""
    if not drifted:
        return None
    ordered = sorted(drifted, key=lambda row: not row["read_by_model"])
    named = ", ".join(
        f"{row['feature']} ({row['psi']:.2f}"
        + (", read by the model)" if row["read_by_model"] else ")")
        for row in ordered
    )
    read = sum(row["read_by_model"] for row in drifted)
    effect = (
        f"{read} of them {'is' if read == 1 else 'are'} read by the model: its scores "
        "may be less reliable here."
        if read
        else "The model reads none of them, but the log differs from its training log."
    )
    return (
        f"{len(drifted)} feature{'s' if len(drifted) > 1 else ''} of this log moved "
        f"beyond the training rows' (population stability index above {threshold}): "
        f"{named}. {effect} Check the log (another period, another product, a broken "
        "export) and consider retraining on recent data."
    )


def report_drift_from_training(
    scoring_features: DataFrame,
    best_model_info: dict[str, Any],
    drift_params: dict[str, Any],
) -> dict[str, Any]:
    """How far the new log's scoring rows (one per scored user) moved from the deployed
    model's training rows: PSI per feature against ``best_model_info["feature_profile"]``
    (the module doc), and the scored users with no training row (the profile's
    ``user_ids``: the model's own, whatever version is pinned).

    One Spark job: every feature and the seen / unseen flag counted in one aggregation
    (:func:`~sparkify_kedro.feature_profile.bucket_counts`). The reference pools every
    training cutoff; the scoring rows are one cutoff at the new log's end.

    Returns ``psi_threshold``, ``min_bucket_share``, ``share_floor``, ``bins`` (the
    profile's most buckets of a numeric feature), ``reference_rows``, ``scored_users``,
    ``unseen_users``, ``unseen_share``, ``chance_psi`` (about what PSI shows by chance at
    these sizes with 5 buckets), ``features`` (``feature``, ``psi``, ``drifted``,
    ``read_by_model``; PSI largest first), ``drifted_features`` and ``warning`` (a plain
    sentence, None when no feature drifted).
    """
    if "user_ids" not in best_model_info.get("feature_profile", {}):
        raise ValueError(
            f"best_model_info of {best_model_info.get('name', 'the model')} holds no "
            "feature_profile: it predates drift checks. Retrain it (kedro run "
            "--pipelines modeling) to compare a new log with its training rows."
        )
    profile = best_model_info["feature_profile"]
    with_flag = {
        "features": {**profile["features"], SEEN_IN_TRAINING: {"kind": "categorical"}}
    }
    seen = scoring_features.sparkSession.createDataFrame(
        [(user,) for user in profile["user_ids"]], "user_id string"
    ).withColumn(SEEN_IN_TRAINING, F.lit("yes"))
    flagged = scoring_features.join(F.broadcast(seen), "user_id", "left").withColumn(
        SEEN_IN_TRAINING, F.coalesce(F.col(SEEN_IN_TRAINING), F.lit("no"))
    )
    counts = bucket_counts(flagged, with_flag)
    flags = counts[counts["feature"] == SEEN_IN_TRAINING]
    scored = int(flags["count"].sum())
    unseen = int(flags.loc[flags["bucket"] == "no", "count"].sum())
    columns = best_model_info["feature_columns"]
    features = feature_drift(
        counts[counts["feature"] != SEEN_IN_TRAINING],
        profile,
        {*columns["numeric"], *columns["categorical"]},
        drift_params,
    )
    threshold = drift_params["psi_threshold"]
    drifted = [row for row in features if row["drifted"]]
    most_buckets = max((row["buckets"] for row in features), default=1)
    return {
        "psi_threshold": threshold,
        "min_bucket_share": drift_params["min_bucket_share"],
        "share_floor": drift_params["share_floor"],
        "bins": max(
            (
                len(entry["edges"]) + 1
                for entry in profile["features"].values()
                if entry["kind"] == "numeric"
            ),
            default=None,
        ),
        "reference_rows": profile["rows"],
        "scored_users": scored,
        "unseen_users": unseen,
        "unseen_share": unseen / scored if scored else None,
        "chance_psi": _chance_psi(most_buckets, scored, profile["rows"]),
        "features": features,
        "drifted_features": [row["feature"] for row in drifted],
        "warning": _warning(drifted, threshold),
    }
