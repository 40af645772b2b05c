"""Nodes of the ``simulation`` pipeline: a Sparkify-like raw log, its truth and calibration.

Generation is one Spark job partitioned by user: ``spark.range`` of user ids, each partition
turned into raw JSON lines by the pure-Python ``UserSimulator`` (see ``generator``) inside
``mapInArrow``. Each user's stream is seeded from ``(seed, user id)``, partitions are
contiguous id ranges and rows keep their generation order, so the same parameters always
give the same files, and the driver never holds an event. ``simulate_churn_probabilities``
replays the users of labelled rows the same way and draws their futures (the ceiling).
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

from sparkify_kedro.events import RAW_EVENT_SCHEMA, churn_pages
from sparkify_kedro.pipelines.simulation import reference as ref
from sparkify_kedro.pipelines.simulation.generator import UserSimulator
from sparkify_kedro.pipelines.simulation.primitives import DAY
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
_ARROW_TYPES = {
    T.StringType(): pa.string(),
    T.LongType(): pa.int64(),
    T.DoubleType(): pa.float64(),
}
_PROFILE_ARROW_SCHEMA = pa.schema(
    [
        pa.field(f.name, _ARROW_TYPES[f.dataType], f.nullable)
        for f in PROFILE_SCHEMA.fields
    ]
)
_PROFILE_TRAITS = (
    "engagement",
    "satisfaction",
    "satisfaction_trend",
    "ad_tolerance",
    "price_sensitivity",
    "session_gap_days",
)
_LINES_PER_BATCH = 50_000

#: ``simulated_churn_probabilities``: one row per labelled (user_id, cutoff).
CHURN_PROBABILITY_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType(), nullable=False),
        T.StructField("cutoff", T.TimestampType(), nullable=False),
        T.StructField("churn_probability", T.DoubleType(), nullable=False),
        T.StructField("futures", T.IntegerType(), nullable=False),
    ]
)
_PROBABILITY_ROW_SCHEMA = T.StructType(
    [
        T.StructField("user_id", T.StringType(), nullable=False),
        T.StructField("cutoff_seconds", T.LongType(), nullable=False),
        T.StructField("churn_probability", T.DoubleType(), nullable=False),
        T.StructField("futures", T.IntegerType(), nullable=False),
    ]
)
_PROBABILITY_ARROW_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), False),
        pa.field("cutoff_seconds", pa.int64(), False),
        pa.field("churn_probability", pa.float64(), False),
        pa.field("futures", pa.int32(), False),
    ]
)
#: Tasks of ``simulate_churn_probabilities`` per core: users differ in cost, so several.
_CEILING_TASKS_PER_CORE = 8
_CANCELLATION, _DOWNGRADE = "Cancellation Confirmation", "Submit Downgrade"


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
                trait: [getattr(p, trait) for p in profiles]
                for trait in _PROFILE_TRAITS
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


def _parse(lines: DataFrame, *fields: str) -> DataFrame:
    """The named raw fields of each JSON line, typed as in ``RAW_EVENT_SCHEMA``."""
    schema = T.StructType([RAW_EVENT_SCHEMA[name] for name in fields])
    return lines.select(F.from_json("value", schema).alias("e")).select("e.*")


def _page_is(page: str) -> Column:
    """True on rows of ``page``."""
    return F.col("page") == page


def build_simulation_truth(
    simulated_events: DataFrame, parameters: dict[str, Any]
) -> DataFrame:
    """One row per simulated user: latent traits, and when and how the user churned.

    Traits are redrawn from ``(seed, user id)`` exactly as the generator drew them
    (``decline_start`` and ``decline_rate`` are null for users whose satisfaction never
    starts to fall, ``decline_start`` may precede the period). Churn is
    read from the log: ``cancellation_time`` (the Cancellation Confirmation),
    ``first_downgrade_time`` and ``downgrades`` (Submit Downgrade rows); ``churn_type`` is
    ``cancellation`` or ``downgrade``, whichever came first, and ``churn_time`` its time
    (both null for users who did not churn). Times are UTC timestamps.
    """
    profiles = _user_ids(parameters).mapInArrow(
        partial(_profiles_of_users, parameters), schema=PROFILE_SCHEMA
    )
    churn_lines = simulated_events.where(
        F.col("value").contains(f'"page":"{_CANCELLATION}"')
        | F.col("value").contains(f'"page":"{_DOWNGRADE}"')
    )
    churn = (
        _parse(churn_lines, "ts", "userId", "page")
        .groupBy(F.col("userId").alias("user_id"))
        .agg(
            F.min(F.when(_page_is(_CANCELLATION), F.col("ts"))).alias("cancel_ms"),
            F.min(F.when(_page_is(_DOWNGRADE), F.col("ts"))).alias("downgrade_ms"),
            F.sum(_page_is(_DOWNGRADE).cast("int")).alias("downgrades"),
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
        *_PROFILE_TRAITS,
        F.timestamp_millis("decline_start").alias("decline_start"),
        "decline_rate",
        churn_type.alias("churn_type"),
        F.timestamp_millis(F.least("cancel_ms", "downgrade_ms")).alias("churn_time"),
        F.timestamp_millis("cancel_ms").alias("cancellation_time"),
        F.timestamp_millis("downgrade_ms").alias("first_downgrade_time"),
        F.coalesce("downgrades", F.lit(0)).alias("downgrades"),
    ).orderBy(F.col("user_id").cast("long"))


def _check(
    figure: str, simulated: float, published: float, low: float, high: float
) -> dict[str, Any]:
    """One calibration line: the simulated figure beside the published one and its range."""
    return {
        "figure": figure,
        "simulated": round(simulated, 4),
        "published": round(published, 4),
        "low": round(low, 4),
        "high": round(high, 4),
        "passed": bool(low <= simulated <= high),
    }


def _info(figure: str, simulated: float | None, published: float) -> dict[str, Any]:
    """A figure reported for comparison only, without a tolerance."""
    return {
        "figure": figure,
        "simulated": None if simulated is None else round(simulated, 6),
        "published": round(published, 6),
    }


def build_simulation_calibration(
    simulated_events: DataFrame, parameters: dict[str, Any]
) -> dict[str, Any]:
    """Compare the simulated log with the published figures of the mini file.

    Counts are scaled by ``n_users / 225``. Checked: total rows (±10 %), share of rows
    without a user (±0.6 points), users who cancel and users who submit a downgrade
    (±12 at 225 users), the share of every page holding at least 1 % of the mini file
    (±25 %), and the paid / free ratio of songs per session (±25 %). Reported without a
    tolerance: songs per session by level, songs and sessions per user for cancelling and
    other users, shares of the rarer pages. The log is read once into rows per (user,
    session, level, page), persisted while the figures are computed; only aggregates
    reach the driver.
    """
    scale = int(parameters["n_users"]) / ref.MINI_USERS
    # One pass over the log: rows per (user, session, level, page), kept for the figures.
    session_pages = (
        _parse(simulated_events, "userId", "sessionId", "page", "level")
        .groupBy("userId", "sessionId", "level", "page")
        .agg(F.count(F.lit(1)).alias("rows"))
        .persist()
    )
    page_counts = {
        row["page"]: row["rows"]
        for row in session_pages.groupBy("page")
        .agg(F.sum("rows").alias("rows"))
        .collect()
    }
    totals = session_pages.agg(
        F.sum("rows").alias("rows"),
        F.sum(F.when(F.col("userId") == "", F.col("rows"))).alias("without_user"),
        F.countDistinct(F.when(_page_is(_CANCELLATION), F.col("userId"))).alias(
            "cancel"
        ),
        F.countDistinct(F.when(_page_is(_DOWNGRADE), F.col("userId"))).alias(
            "downgrade"
        ),
    ).first()
    songs = F.sum(F.when(_page_is("NextSong"), F.col("rows")).otherwise(0))
    sessions = (
        session_pages.where(F.col("userId") != "")
        .groupBy("userId", "sessionId", "level")
        .agg(songs.alias("songs"))
    )
    songs_per_session = {
        row["level"]: row["songs"]
        for row in sessions.groupBy("level")
        .agg(F.avg("songs").alias("songs"))
        .collect()
    }
    per_user = (
        session_pages.where(F.col("userId") != "")
        .groupBy("userId")
        .agg(
            songs.alias("songs"),
            F.countDistinct("sessionId").alias("sessions"),
            F.max(_page_is(_CANCELLATION)).alias("cancelled"),
        )
    )
    by_group = {
        ("cancelled" if row["cancelled"] else "other"): row
        for row in per_user.groupBy("cancelled")
        .agg(F.avg("songs").alias("songs"), F.avg("sessions").alias("sessions"))
        .collect()
    }
    session_pages.unpersist()

    rows = totals["rows"]
    checks = [
        _check(
            "total rows",
            rows,
            ref.MINI_ROWS * scale,
            ref.MINI_ROWS * scale * (1 - ref.ROWS_TOLERANCE),
            ref.MINI_ROWS * scale * (1 + ref.ROWS_TOLERANCE),
        ),
        _check(
            "share of rows without a user",
            totals["without_user"] / rows,
            ref.MINI_ROWS_WITHOUT_USER / ref.MINI_ROWS,
            ref.MINI_ROWS_WITHOUT_USER / ref.MINI_ROWS
            - ref.ROWS_WITHOUT_USER_TOLERANCE,
            ref.MINI_ROWS_WITHOUT_USER / ref.MINI_ROWS
            + ref.ROWS_WITHOUT_USER_TOLERANCE,
        ),
    ]
    for figure, simulated, published in (
        ("users who cancel", totals["cancel"], ref.MINI_CANCELLING_USERS),
        (
            "users who submit a downgrade",
            totals["downgrade"],
            ref.MINI_DOWNGRADING_USERS,
        ),
    ):
        checks.append(
            _check(
                figure,
                simulated,
                published * scale,
                (published - ref.CHURN_USERS_TOLERANCE) * scale,
                (published + ref.CHURN_USERS_TOLERANCE) * scale,
            )
        )
    for page, count in ref.MINI_PAGE_COUNTS.items():
        published_share = count / ref.MINI_ROWS
        if published_share >= ref.PAGE_SHARE_MIN:
            checks.append(
                _check(
                    f"share of {page} rows",
                    page_counts.get(page, 0) / rows,
                    published_share,
                    published_share * (1 - ref.PAGE_SHARE_TOLERANCE),
                    published_share * (1 + ref.PAGE_SHARE_TOLERANCE),
                )
            )
    free, paid = songs_per_session.get("free"), songs_per_session.get("paid")
    published_ratio = (
        ref.MINI_SONGS_PER_SESSION["paid"] / ref.MINI_SONGS_PER_SESSION["free"]
    )
    checks.append(
        _check(
            "songs per session, paid / free",
            paid / free if free and paid else 0.0,
            published_ratio,
            published_ratio * (1 - ref.SONG_RATIO_TOLERANCE),
            published_ratio * (1 + ref.SONG_RATIO_TOLERANCE),
        )
    )

    informative = [
        _info("songs per session, free", free, ref.MINI_SONGS_PER_SESSION["free"]),
        _info("songs per session, paid", paid, ref.MINI_SONGS_PER_SESSION["paid"]),
    ]
    for group in ("cancelled", "other"):
        row = by_group.get(group)
        informative += [
            _info(
                f"songs per user, {group}",
                row["songs"] if row else None,
                ref.MINI_SONGS_PER_USER[group],
            ),
            _info(
                f"sessions per user, {group}",
                row["sessions"] if row else None,
                ref.MINI_SESSIONS_PER_USER[group],
            ),
        ]
    informative += [
        _info(
            f"share of {page} rows",
            page_counts.get(page, 0) / rows,
            count / ref.MINI_ROWS,
        )
        for page, count in ref.MINI_PAGE_COUNTS.items()
        if count / ref.MINI_ROWS < ref.PAGE_SHARE_MIN
    ]
    return {
        "parameters": {
            key: parameters[key] for key in ("n_users", "seed", "start", "end")
        },
        "scale_to_mini": round(scale, 6),
        "passed": all(check["passed"] for check in checks),
        "checks": checks,
        "for_comparison": informative,
    }


def _probabilities_of_rows(
    parameters: dict[str, Any],
    pages: frozenset[str],
    horizon_seconds: int,
    n_futures: int,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """The churn probability of each (user_id, cutoff_seconds) row of a partition.

    The partition holds every row of its users: each user's stream is replayed once, for
    all their cutoffs. One output row per input row, in the input's order.
    """
    rows: list[tuple[str, int]] = []
    for batch in batches:
        rows.extend(
            zip(
                batch.column("user_id").to_pylist(),
                batch.column("cutoff_seconds").to_pylist(),
                strict=True,
            )
        )
    if not rows:
        return
    cutoffs_of: dict[str, set[int]] = {}
    for user, cutoff in rows:
        cutoffs_of.setdefault(user, set()).add(cutoff)
    simulator = UserSimulator(parameters)
    probability: dict[tuple[str, int], float] = {}
    for user, cutoffs in cutoffs_of.items():
        if not user.isdigit():
            raise ValueError(
                f"user_id {user!r} is not a simulated user's id: churn probabilities "
                f"exist only for a simulated log."
            )
        ordered = sorted(cutoffs)
        found = simulator.churn_probabilities(
            int(user), ordered, horizon_seconds, pages, n_futures
        )
        probability.update(
            ((user, cutoff), p) for cutoff, p in zip(ordered, found, strict=True)
        )
    yield pa.RecordBatch.from_pydict(
        {
            "user_id": [user for user, _ in rows],
            "cutoff_seconds": [cutoff for _, cutoff in rows],
            "churn_probability": [probability[row] for row in rows],
            "futures": [n_futures] * len(rows),
        },
        schema=_PROBABILITY_ARROW_SCHEMA,
    )


def simulate_churn_probabilities(
    labelled_rows: DataFrame,
    simulation: dict[str, Any],
    churn_task: dict[str, Any],
    n_futures: int,
) -> DataFrame:
    """The simulator's own probability that each labelled user churns within the horizon.

    For each (``user_id``, ``cutoff``) of ``labelled_rows`` (e.g. ``churn_labels``; other
    columns are ignored), the user's stream is replayed exactly as ``generate_events``
    wrote it up to the cutoff, then ``n_futures`` futures are drawn from the user's full
    simulator state there (``UserSimulator.churn_probabilities``): the probability is
    their mean share with a churn page (the ``churn_task`` definition) in ``[cutoff,
    cutoff + horizon_days)``. It only depends on the parameters, the user, the cutoff and
    ``n_futures``, never on the partitioning.

    Output (``CHURN_PROBABILITY_SCHEMA``): ``user_id`` (string), ``cutoff`` (timestamp),
    ``churn_probability`` (double in [0, 1]), ``futures`` (int, ``n_futures``); one row
    per input row. Rows are hashed by user into ``8 x`` the default parallelism tasks, so
    each user's stream is replayed once for all their cutoffs; nothing reaches the driver.
    """
    n_futures = int(n_futures)
    if n_futures < 1:
        raise ValueError(f"n_futures must be at least 1, got {n_futures}.")
    spark = SparkSession.builder.getOrCreate()
    tasks = max(1, spark.sparkContext.defaultParallelism * _CEILING_TASKS_PER_CORE)
    rows = labelled_rows.select(
        F.col("user_id").cast("string").alias("user_id"),
        F.unix_seconds(F.col("cutoff").cast("timestamp")).alias("cutoff_seconds"),
    )
    probabilities = rows.repartition(tasks, "user_id").mapInArrow(
        partial(
            _probabilities_of_rows,
            simulation,
            frozenset(churn_pages(churn_task)),
            int(churn_task["horizon_days"]) * DAY,
            n_futures,
        ),
        schema=_PROBABILITY_ROW_SCHEMA,
    )
    return probabilities.select(
        "user_id",
        F.timestamp_seconds("cutoff_seconds").alias("cutoff"),
        "churn_probability",
        "futures",
    )
