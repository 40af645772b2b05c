"""Nodes of the ``simulation`` pipeline: a Sparkify-like raw log and its truth.

Generation is one Spark job over contiguous ranges of user ids, each turned into raw JSON
lines by ``UserSimulator`` (``generator``) inside ``mapInArrow``, in generation order: the
same parameters give the same files, and the driver never holds an event.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial
from typing import Any

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from sparkify_kedro.events import RAW_EVENT_SCHEMA
from sparkify_kedro.pipelines.simulation.generator import UserSimulator
from sparkify_kedro.pipelines.simulation.profiles import draw_user_profile

#: The simulated log: one raw JSON line per row, as ``SparkTextLinesDataset`` writes it.
LINE_SCHEMA = T.StructType([T.StructField("value", T.StringType(), nullable=False)])

#: The latent traits of each user (one row per user in ``simulation_truth``).
PROFILE_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType(), nullable=False),
        T.StructField("gender", T.StringType()),
        T.StructField("registration", T.LongType()),
        T.StructField("start_level", T.StringType()),
        T.StructField("engagement", T.DoubleType()),
        T.StructField("satisfaction", T.DoubleType()),
        T.StructField("satisfaction_trend", T.DoubleType()),
        T.StructField("decline_start", T.LongType()),
        T.StructField("decline_rate", T.DoubleType()),
        T.StructField("ad_tolerance", T.DoubleType()),
        T.StructField("price_sensitivity", T.DoubleType()),
        T.StructField("session_gap_days", T.DoubleType()),
    ]
)
_PROFILE_ARROW_SCHEMA = to_arrow_schema(PROFILE_SCHEMA)
#: The latent traits of a user profile that simulation_truth records.
PROFILE_TRAITS = (
    "engagement",
    "satisfaction",
    "satisfaction_trend",
    "ad_tolerance",
    "price_sensitivity",
    "session_gap_days",
)
_LINES_PER_BATCH = 50_000
CANCELLATION, DOWNGRADE = "Cancellation Confirmation", "Submit Downgrade"


def _user_ids(parameters: dict[str, Any]) -> DataFrame:
    """User ids ``1 .. n_users`` in contiguous partitions of ``users_per_partition``."""
    spark = SparkSession.builder.getOrCreate()
    n_users = int(parameters["n_users"])
    partitions = max(
        int(parameters["min_partitions"]),
        math.ceil(n_users / int(parameters["users_per_partition"])),
    )
    return spark.range(1, n_users + 1, numPartitions=min(partitions, n_users))


def _lines_of_users(
    parameters: dict[str, Any], batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """Raw JSON lines of the users in ``batches`` (column ``id``), user by user."""
    simulator = UserSimulator(parameters)
    pending: list[str] = []
    for batch in batches:
        for user_id in batch.column("id").to_pylist():
            pending.extend(simulator.user_lines(user_id))
            if len(pending) >= _LINES_PER_BATCH:
                yield pa.RecordBatch.from_arrays(
                    [pa.array(pending, pa.string())], ["value"]
                )
                pending = []
    if pending:
        yield pa.RecordBatch.from_arrays([pa.array(pending, pa.string())], ["value"])


def generate_events(parameters: dict[str, Any]) -> DataFrame:
    """Simulate the raw event log: one JSON line per event, users in id order.

    Output: column ``value`` (string), the 18 fields of ``sparkify_kedro.events.RAW_FIELDS``
    in eventsim's order with nulls written explicitly. One Spark partition (hence one output
    file) per ``users_per_partition`` users, at least ``min_partitions``.
    """
    return _user_ids(parameters).mapInArrow(
        partial(_lines_of_users, parameters), schema=LINE_SCHEMA
    )


def _profiles_of_users(
    parameters: dict[str, Any], batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """The latent profile of each user id in ``batches``, as ``PROFILE_SCHEMA`` rows."""
    names = PROFILE_SCHEMA.fieldNames()
    for batch in batches:
        profiles = [
            draw_user_profile(parameters, uid) for uid in batch.column("id").to_pylist()
        ]
        columns = {
            "user_id": [str(p.user_id) for p in profiles],
            "gender": [p.gender for p in profiles],
            "registration": [p.registration_ms for p in profiles],
            "start_level": [p.start_level for p in profiles],
            **{
                trait: [getattr(p, trait) for p in profiles] for trait in PROFILE_TRAITS
            },
            # Users whose satisfaction never declines have neither a start nor a rate.
            "decline_start": [
                None if math.isinf(p.decline_start) else int(p.decline_start * 1000)
                for p in profiles
            ],
            "decline_rate": [
                None if math.isinf(p.decline_start) else p.decline_rate
                for p in profiles
            ],
        }
        yield pa.RecordBatch.from_pydict(
            {name: columns[name] for name in names}, schema=_PROFILE_ARROW_SCHEMA
        )


def parse_lines(lines: DataFrame, *fields: str) -> DataFrame:
    """The named raw fields of each JSON line, typed as in ``RAW_EVENT_SCHEMA``."""
    schema = T.StructType([RAW_EVENT_SCHEMA[name] for name in fields])
    return lines.select(F.from_json("value", schema).alias("e")).select("e.*")


def page_is(page: str) -> Column:
    """True on rows of ``page``."""
    return F.col("page") == page


def build_simulation_truth(
    simulated_events: DataFrame, parameters: dict[str, Any]
) -> DataFrame:
    """One row per simulated user: latent traits, and when and how the user churned.

    Traits are redrawn from ``(seed, user id)`` as the generator drew them
    (``decline_start`` and ``decline_rate`` null when satisfaction never falls). From the
    log: ``cancellation_time``, ``first_downgrade_time`` and ``downgrades`` (Submit
    Downgrade rows); ``churn_type`` (``cancellation`` or ``downgrade``, whichever came
    first) and ``churn_time``, null for users who did not churn. Times are UTC.
    """
    profiles = _user_ids(parameters).mapInArrow(
        partial(_profiles_of_users, parameters), schema=PROFILE_SCHEMA
    )
    churn_lines = simulated_events.where(
        F.col("value").contains(f'"page":"{CANCELLATION}"')
        | F.col("value").contains(f'"page":"{DOWNGRADE}"')
    )
    churn = (
        parse_lines(churn_lines, "ts", "userId", "page")
        .groupBy(F.col("userId").alias("user_id"))
        .agg(
            F.min(F.when(page_is(CANCELLATION), F.col("ts"))).alias("cancel_ms"),
            F.min(F.when(page_is(DOWNGRADE), F.col("ts"))).alias("downgrade_ms"),
            F.sum(page_is(DOWNGRADE).cast("int")).alias("downgrades"),
        )
    )
    joined = profiles.join(churn, "user_id", "left")
    first_is_cancel = F.col("downgrade_ms").isNull() | (
        F.col("cancel_ms") < F.col("downgrade_ms")
    )
    churn_type = (
        F.when(F.col("cancel_ms").isNull() & F.col("downgrade_ms").isNull(), None)
        .when(first_is_cancel, F.lit("cancellation"))
        .otherwise(F.lit("downgrade"))
    )
    return joined.select(
        "user_id",
        "gender",
        F.timestamp_millis("registration").alias("registration"),
        "start_level",
        *PROFILE_TRAITS,
        F.timestamp_millis("decline_start").alias("decline_start"),
        "decline_rate",
        churn_type.alias("churn_type"),
        F.timestamp_millis(F.least("cancel_ms", "downgrade_ms")).alias("churn_time"),
        F.timestamp_millis("cancel_ms").alias("cancellation_time"),
        F.timestamp_millis("downgrade_ms").alias("first_downgrade_time"),
        F.coalesce("downgrades", F.lit(0)).alias("downgrades"),
    ).orderBy(F.col("user_id").cast("long"))
