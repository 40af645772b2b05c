"""Hand-computed features on a tiny log: observation 4 days, trend 2 days.

Cutoff 2018-10-10: window [10-06, 10-10), recent part [10-08, 10-10), earlier part 2 days.
u1 has events in both parts, u2 only in the earlier part, u3 only in the recent part.
"""

from __future__ import annotations

import math
import random

import pytest
from pyspark.sql import types as T

from sparkify_kedro.events import KNOWN_PAGES
from sparkify_kedro.feature_catalog import (
    APPROVAL_PAGES,
    BROWSER_PATTERNS,
    FEATURE_TYPES,
    LEVEL_CHANGE_PAGES,
    PAGE_COUNT_FEATURES,
    PLATFORM_PATTERNS,
    SONG_PAGE,
    TREND_RATE_COUNTS,
    WARNING_PAGES,
    selected_features,
)
from sparkify_kedro.features import compute_user_features
from sparkify_kedro.pipelines.feature_engineering.nodes import build_model_input_table
from tests.pipelines.churn_labeling.event_factory import (
    WINDOWS_CHROME,
    collect_rows,
    event,
    make_clean_events,
    utc,
)

ALL_GROUPS = {"all": list(FEATURE_TYPES)}
STRINGS = ["level_at_cutoff", "platform", "browser", "gender", "state"]
PARAMS = {
    "observation_days": 4,
    "trend_days": 2,
    "feature_groups": ALL_GROUPS,
    "categorical_features": STRINGS,
}
ZERO_COUNTS = dict.fromkeys(PAGE_COUNT_FEATURES, 0)
#: The trend features of the thumbs, warning and discontent rates.
RECENT_AND_CHANGE = [
    f"{name}_{part}"
    for name in (
        "thumbs_down_per_song",
        "thumbs_up_per_song",
        "warning_visits_per_song",
        "discontent",
    )
    for part in ("recent", "change")
]


@pytest.fixture(scope="module")
def tiny_log(spark):
    u2 = {
        "registration": "2018-10-08 12:00",  # registered after its first event
        "gender": "M",
        "location": "New York-Newark-Jersey City, NY-NJ-PA",
        "user_agent": WINDOWS_CHROME,
        "level": "free",
    }
    return make_clean_events(
        spark,
        [
            event("u1", "2018-10-05 23:00"),  # before the window
            # session 1, paid, 20 minutes
            event("u1", "2018-10-06 10:00", artist="A", length=180.0),
            event("u1", "2018-10-06 10:03", "Thumbs Up"),
            event("u1", "2018-10-06 10:10", artist="B", length=240.0),
            event("u1", "2018-10-06 10:20", "Roll Advert"),
            # session 2: downgrades to free around midnight, 20 minutes over two days
            event("u1", "2018-10-08 23:50", "Downgrade", session_id=2),
            event("u1", "2018-10-08 23:55", "Submit Downgrade", session_id=2),
            event("u1", "2018-10-09 00:05", session_id=2, level="free", artist="A"),
            event("u1", "2018-10-09 00:10", "Thumbs Down", session_id=2, level="free"),
            # session 3: one event a second before the cutoff, then events at/after it
            event("u1", "2018-10-09 23:59:59", "Error", session_id=3, level="free"),
            event("u1", "2018-10-10 00:00:00", session_id=3, level="free"),
            event("u1", "2018-10-10 05:00", "Logout", session_id=3, level="free"),
            # a single event, before its registration
            event("u2", "2018-10-07 12:00", session_id=10, artist="C", length=100.0),
            # only in the recent part: two songs, a thumbs up, settings; then help alone
            event("u3", "2018-10-08 10:00", session_id=20),
            event("u3", "2018-10-08 10:04", "Thumbs Up", session_id=20),
            event("u3", "2018-10-08 10:05", session_id=20),
            event("u3", "2018-10-08 10:10", "Settings", session_id=20),
            event("u3", "2018-10-09 12:00", "Help", session_id=21),
            event("u3", "2018-10-10 01:00", "Thumbs Down", session_id=22),  # too late
        ],
        profiles={"u1": {"registration": "2018-09-30 00:00"}, "u2": u2},
    )


@pytest.fixture(scope="module")
def features(spark, tiny_log):
    cutoffs = spark.createDataFrame(
        [
            ("u1", utc("2018-10-10 00:00")),
            ("u2", utc("2018-10-10 00:00")),
            ("u2", utc("2018-10-12 00:00")),  # silent during the window
            ("u2", utc("2018-10-12 00:00")),  # duplicates count once
            ("u3", utc("2018-10-10 00:00")),
        ],
        "user_id string, cutoff timestamp",
    )
    return compute_user_features(tiny_log, cutoffs, PARAMS)


@pytest.fixture(scope="module")
def feature_rows(features):
    return collect_rows(features, ["user_id", "cutoff"])


@pytest.mark.parametrize(
    ("observation_days", "unreadable_days"),
    [(4, ["2018-10-04", "2018-10-14"]), (None, ["2018-10-14"])],
    ids=["snapshot", "user"],
)
def test_only_the_days_of_the_windows_are_read(
    spark, tiny_log, tmp_path, observation_days, unreadable_days
):
    """Stored by ``event_date`` (as ``clean_events`` is), the events of days outside every
    window are never opened: from the first window's start (none in user mode) to the
    last cutoff, a day spare on each side (cutoffs 10-10 and 10-12, windows of 4 days:
    10-05 .. 10-13). Days outside hold a file that is not parquet; the features are those
    computed from the events in memory."""
    path = tmp_path / "clean_events.parquet"
    tiny_log.write.partitionBy("event_date").parquet(str(path))
    for day in unreadable_days:
        (path / f"event_date={day}").mkdir()
        (path / f"event_date={day}" / "part-0.parquet").write_bytes(b"not parquet")
    stored = spark.read.schema(tiny_log.schema).parquet(str(path))
    with pytest.raises(Exception, match="(?i)parquet"):
        stored.select("ts").collect()  # the trap is armed: reading every day fails
    cutoffs = spark.createDataFrame(
        [
            ("u1", utc("2018-10-10 00:00")),
            ("u2", utc("2018-10-12 00:00")),
            ("u3", utc("2018-10-10 00:00")),
        ],
        "user_id string, cutoff timestamp",
    )
    params = {**PARAMS, "observation_days": observation_days}
    expected = collect_rows(
        compute_user_features(tiny_log, cutoffs, params), ["user_id"]
    )
    actual = collect_rows(compute_user_features(stored, cutoffs, params), ["user_id"])
    assert actual == expected


def test_output_columns_and_types(features):
    assert [(f.name, f.dataType) for f in features.schema] == [
        ("user_id", T.StringType()),
        ("cutoff", T.TimestampType()),
        *FEATURE_TYPES.items(),
    ]


def test_features_of_a_user_whose_level_changes_in_the_window(feature_rows):
    (u1,) = [r for r in feature_rows if r["user_id"] == "u1"]
    assert u1 == pytest.approx(
        {
            "user_id": "u1",
            "cutoff": "2018-10-10 00:00:00",
            "events": 9,
            "sessions": 3,
            "songs": 3,
            "distinct_artists": 2,
            "listening_hours": 620 / 3600,
            "songs_per_session": 1.0,
            "mean_session_minutes": 40 / 3,
            "active_days": 3,
            "events_per_active_day": 3.0,
            "days_since_last_event": 1 / 86400,
            "tenure_days": 10.0,
            **ZERO_COUNTS,
            "thumbs_up": 1,
            "thumbs_down": 1,
            "adverts": 1,
            "errors": 1,
            "downgrade_visits": 1,
            "thumbs_up_per_song": 1 / 3,
            "thumbs_down_per_song": 1 / 3,
            "adverts_per_song": 1 / 3,
            # Downgrade + Error; ln((thumbs down + warnings + 1) / (approvals + 1))
            "warning_visits": 2,
            "discontent": math.log((1 + 2 + 1) / (1 + 1)),
            "level_at_cutoff": "free",
            "paid_event_share": 6 / 9,
            "level_changes": 1,
            "songs_per_day_recent": 0.5,
            "songs_per_day_earlier": 1.0,
            "songs_per_day_change": -0.5,
            "sessions_per_day_recent": 1.0,
            "sessions_per_day_earlier": 0.5,
            "sessions_per_day_change": 0.5,
            # recent: 1 song, 1 thumbs down, 2 warnings (Downgrade, Error), 5 events;
            # earlier: 2 songs, 1 thumbs up, 4 events
            "thumbs_down_per_song_recent": 1.0,
            "thumbs_down_per_song_change": 1.0 - 0.0,
            "thumbs_up_per_song_recent": 0.0,
            "thumbs_up_per_song_change": 0.0 - 0.5,
            "warning_visits_per_song_recent": 2.0,
            "warning_visits_per_song_change": 2.0 - 0.0,
            "discontent_recent": math.log((1 + 2 + 1) / (0 + 1)),
            "discontent_change": math.log(4 / 1) - math.log(1 / 2),
            # session 3 (10-09 23:59:59) after session 2 ended (10-09 00:10)
            "last_session_gap_days": (23 * 3600 + 49 * 60 + 59) / 86400,
            "platform": "Mac",
            "browser": "Safari",
            "gender": "F",
            "state": "MO",
        }
    )


def test_features_of_a_single_event_registered_later_and_then_silent(feature_rows):
    single, silent = [r for r in feature_rows if r["user_id"] == "u2"]
    assert single == pytest.approx(
        {
            "user_id": "u2",
            "cutoff": "2018-10-10 00:00:00",
            "events": 1,
            "sessions": 1,
            "songs": 1,
            "distinct_artists": 1,
            "listening_hours": 100 / 3600,
            "songs_per_session": 1.0,
            "mean_session_minutes": 0.0,
            "active_days": 1,
            "events_per_active_day": 1.0,
            "days_since_last_event": 2.5,
            "tenure_days": 2.5,  # from the first event, not the later registration
            **ZERO_COUNTS,
            "thumbs_up_per_song": 0.0,
            "thumbs_down_per_song": 0.0,
            "adverts_per_song": 0.0,
            "warning_visits": 0,
            "discontent": 0.0,  # ln(1 / 1)
            "level_at_cutoff": "free",
            "paid_event_share": 0.0,
            "level_changes": 0,
            "songs_per_day_recent": 0.0,
            "songs_per_day_earlier": 0.5,
            "songs_per_day_change": -0.5,
            "sessions_per_day_recent": 0.0,
            "sessions_per_day_earlier": 0.5,
            "sessions_per_day_change": -0.5,
            # nothing in the recent part: no recent rate, no change
            **dict.fromkeys(RECENT_AND_CHANGE, None),
            # the only session, from the window start (10-06 00:00): at least 1.5 days
            "last_session_gap_days": 1.5,
            "platform": "Windows",
            "browser": "Chrome",
            "gender": "M",
            "state": "NY",
        }
    )
    assert silent == {
        "user_id": "u2",
        "cutoff": "2018-10-12 00:00:00",
        "events": 0,
        "sessions": 0,
        "songs": 0,
        "distinct_artists": 0,
        "listening_hours": 0.0,
        "songs_per_session": None,
        "mean_session_minutes": None,
        "active_days": 0,
        "events_per_active_day": None,
        "days_since_last_event": None,
        "tenure_days": None,
        **ZERO_COUNTS,
        "thumbs_up_per_song": None,
        "thumbs_down_per_song": None,
        "adverts_per_song": None,
        "warning_visits": 0,
        "discontent": None,
        "level_at_cutoff": None,
        "paid_event_share": None,
        "level_changes": 0,
        "songs_per_day_recent": 0.0,
        "songs_per_day_earlier": 0.0,
        "songs_per_day_change": 0.0,
        "sessions_per_day_recent": 0.0,
        "sessions_per_day_earlier": 0.0,
        "sessions_per_day_change": 0.0,
        **dict.fromkeys(RECENT_AND_CHANGE, None),
        "last_session_gap_days": None,
        "platform": None,
        "browser": None,
        "gender": None,
        "state": None,
    }


def test_features_of_a_user_seen_only_in_the_recent_part(feature_rows):
    (u3,) = [r for r in feature_rows if r["user_id"] == "u3"]
    assert u3 == pytest.approx(
        {
            "user_id": "u3",
            "cutoff": "2018-10-10 00:00:00",
            "events": 5,
            "sessions": 2,
            "songs": 2,
            "distinct_artists": 1,
            "listening_hours": 400 / 3600,
            "songs_per_session": 1.0,
            "mean_session_minutes": 5.0,
            "active_days": 2,
            "events_per_active_day": 2.5,
            "days_since_last_event": 0.5,
            "tenure_days": 39.0,
            **ZERO_COUNTS,
            "thumbs_up": 1,
            "settings_visits": 1,
            "help_visits": 1,
            "thumbs_up_per_song": 0.5,
            "thumbs_down_per_song": 0.0,
            "adverts_per_song": 0.0,
            "warning_visits": 2,
            "discontent": math.log((0 + 2 + 1) / (1 + 1)),
            "level_at_cutoff": "paid",
            "paid_event_share": 1.0,
            "level_changes": 0,
            "songs_per_day_recent": 1.0,
            "songs_per_day_earlier": 0.0,
            "songs_per_day_change": 1.0,
            "sessions_per_day_recent": 1.0,
            "sessions_per_day_earlier": 0.0,
            "sessions_per_day_change": 1.0,
            # recent rates only: nothing earlier to compare them with
            "thumbs_down_per_song_recent": 0.0,
            "thumbs_down_per_song_change": None,
            "thumbs_up_per_song_recent": 0.5,
            "thumbs_up_per_song_change": None,
            "warning_visits_per_song_recent": 1.0,
            "warning_visits_per_song_change": None,
            "discontent_recent": math.log(3 / 2),
            "discontent_change": None,
            # Help at 10-09 12:00 after session 20 ended at 10-08 10:10
            "last_session_gap_days": 1 + 110 / 1440,
            "platform": "Mac",
            "browser": "Safari",
            "gender": "F",
            "state": "MO",
        }
    )


PROFILE_CASES = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2"
        " (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53",
        "Washington-Arlington-Alexandria, DC-VA-MD-WV",
        ("iPhone", "Safari", "DC"),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2"
        " (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53",
        "Boston-Cambridge-Newton, MA-NH",
        ("iPad", "Safari", "MA"),
    ),
    (
        "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)",
        "Bakersfield, CA",
        ("Windows", "Internet Explorer", "CA"),
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0",
        "Nowhere",
        ("Linux", "Firefox", None),
    ),
    ("curl/7.0", None, ("other", "other", None)),
]


def test_profile_parsing(spark):
    log = make_clean_events(
        spark,
        [
            event(str(i), "2018-10-09 10:00", user_agent=agent, location=location)
            for i, (agent, location, _) in enumerate(PROFILE_CASES)
        ],
    )
    cutoffs = (
        log.select("user_id")
        .distinct()
        .crossJoin(
            spark.createDataFrame([(utc("2018-10-10 00:00"),)], "cutoff timestamp")
        )
    )
    params = {
        **PARAMS,
        "feature_groups": {"profile": ["platform", "browser", "state"]},
        "categorical_features": ["platform", "browser", "state"],
    }
    rows = compute_user_features(log, cutoffs, params).orderBy("user_id").collect()
    assert [(r["platform"], r["browser"], r["state"]) for r in rows] == [
        expected for _, _, expected in PROFILE_CASES
    ]


def test_patterns_and_pages_are_known():
    assert {
        SONG_PAGE,
        *PAGE_COUNT_FEATURES.values(),
        *LEVEL_CHANGE_PAGES,
        *WARNING_PAGES,
        *APPROVAL_PAGES,
        *(page for pages in TREND_RATE_COUNTS.values() for page in pages),
    } <= KNOWN_PAGES
    assert len(PLATFORM_PATTERNS) == 6
    assert len(BROWSER_PATTERNS) == 5


@pytest.mark.parametrize(
    "groups, categorical, message",
    [
        ({"a": ["events", "nope"]}, [], "unknown features"),
        ({"a": ["events"], "b": ["events"]}, [], "listed twice"),
        ({"a": ["events", "gender"]}, [], "categorical_features"),
    ],
)
def test_selected_features_rejects_bad_groups(groups, categorical, message):
    with pytest.raises(ValueError, match=message):
        selected_features(
            {"feature_groups": groups, "categorical_features": categorical}
        )


def test_feature_groups_select_and_order_the_columns(spark, tiny_log):
    cutoffs = spark.createDataFrame(
        [("u1", utc("2018-10-10 00:00"))], "user_id string, cutoff timestamp"
    )
    params = {
        **PARAMS,
        "feature_groups": {"x": ["songs", "gender"], "y": ["events"]},
        "categorical_features": ["gender"],
    }
    features = compute_user_features(tiny_log, cutoffs, params)
    assert features.columns == ["user_id", "cutoff", "songs", "gender", "events"]


def test_model_input_table_joins_labels(spark, features):
    labels = spark.createDataFrame(
        [
            (
                "u1",
                utc("2018-10-10 00:00"),
                1,
                "Submit Downgrade",
                utc("2018-10-11 00:00"),
            ),
            ("u2", utc("2018-10-12 00:00"), 0, None, None),
        ],
        "user_id string, cutoff timestamp, label int, churn_type string,"
        " churn_time timestamp",
    )
    table = build_model_input_table(features, labels)
    assert table.columns == ["user_id", "cutoff", "label", "churn_type", *FEATURE_TYPES]
    rows = collect_rows(
        table.select("user_id", "cutoff", "label", "events"), ["user_id"]
    )
    assert rows == [
        {"user_id": "u1", "cutoff": "2018-10-10 00:00:00", "label": 1, "events": 9},
        {"user_id": "u2", "cutoff": "2018-10-12 00:00:00", "label": 0, "events": 0},
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_features_do_not_depend_on_how_the_events_are_partitioned(spark, seed):
    """The same events, in one partition or scattered over many in another order, give
    bit-identical features: every sum is exact (song lengths as decimals, session times in
    integer microseconds), so local[*] and a cluster feed the models the same numbers."""
    rng = random.Random(seed)
    events = [
        event(
            f"u{user}",
            f"2018-10-0{day} {hour:02d}:{minute:02d}",
            session_id=10 * user + day,
            artist=f"A{rng.randrange(5)}",
            length=round(rng.uniform(0.78, 3024.7), 5),
        )
        for user in range(3)
        for day in range(5, 10)
        for hour in rng.sample(range(24), 3)
        for minute in rng.sample(range(60), 4)
    ]
    one_partition = make_clean_events(spark, events).coalesce(1)
    scattered = make_clean_events(spark, events[::-1]).repartition(7)
    cutoffs = spark.createDataFrame(
        [(f"u{user}", utc("2018-10-10 00:00")) for user in range(3)],
        "user_id string, cutoff timestamp",
    )
    expected = collect_rows(
        compute_user_features(one_partition, cutoffs, PARAMS), ["user_id"]
    )
    actual = collect_rows(
        compute_user_features(scattered, cutoffs, PARAMS), ["user_id"]
    )
    assert actual == expected  # exact: no tolerance
    assert all(row["listening_hours"] > 0 for row in actual)
