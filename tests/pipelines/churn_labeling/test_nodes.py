"""Hand-computed churn labels on a tiny log (windows shrunk to days: 4 / 2 / 2).

The log covers 2018-10-01 00:00 to 2018-10-12 00:00 (its events run from 10-01 00:10 to
10-11 12:00). With observation 4 days, horizon 2 and stride 2 the cutoffs are 2018-10-10 (2
days of log after it), 10-08 and 10-06 (10-04 would leave only 3 days of observation).
"""

from __future__ import annotations

import pytest

from sparkify_kedro.pipelines.churn_labeling.nodes import (
    CHURN_LABEL_SCHEMA,
    build_churn_labels,
    churn_pages,
    determine_log_span,
    select_churn_events,
)
from tests.pipelines.churn_labeling.event_factory import (
    collect_rows,
    event,
    make_clean_events,
)

CC, SD = "Cancellation Confirmation", "Submit Downgrade"
DEFINITIONS = {
    "paid_to_free_or_cancel": [SD, CC],
    "cancellation_only": [CC],
}
OBSERVATION_DAYS = 4


def _params(**overrides):
    return {
        "mode": "snapshot",
        "churn_definition": "paid_to_free_or_cancel",
        "churn_definitions": DEFINITIONS,
        "observation_days": OBSERVATION_DAYS,
        "trend_days": 2,
        "horizon_days": 2,
        "stride_days": 2,
        **overrides,
    }


@pytest.fixture(scope="module")
def tiny_log(spark):
    return make_clean_events(
        spark,
        [
            # bounds of the log; silent in every observation window
            event("filler", "2018-10-01 00:10"),
            event("filler", "2018-10-11 12:00"),
            # a single event: at risk at 10-06 and 10-08, never churns
            event("single", "2018-10-05 10:00"),
            # cancels on the 10-08 cutoff instant: at risk then (label 1), gone at 10-10
            event("cancel_at_cutoff", "2018-10-07 09:00"),
            event("cancel_at_cutoff", "2018-10-08 00:00:00", CC),
            # a downgrade then a cancellation in the 10-06 horizon: the first one is the label
            event("down_then_cancel", "2018-10-03 12:00"),
            event("down_then_cancel", "2018-10-06 12:00", SD),
            event("down_then_cancel", "2018-10-06 12:05", level="free"),
            event("down_then_cancel", "2018-10-07 08:00", CC, level="free"),
            # downgrades on the end instant of the 10-08 horizon: not in it, but in 10-10's
            event("late_downgrade", "2018-10-05 08:00"),
            event("late_downgrade", "2018-10-09 08:00"),
            event("late_downgrade", "2018-10-10 00:00:00", SD),
            # first event is a cancellation: never at risk, no user-mode row
            event("churn_first", "2018-10-03 10:00", CC),
        ],
    )


LOG_END_PARAMS = {"override": None, "min_day_share": 0.1}


def _labels(tiny_log, **overrides):
    params = _params(**overrides)
    labels = build_churn_labels(
        tiny_log,
        select_churn_events(tiny_log, params),
        determine_log_span(tiny_log, LOG_END_PARAMS),
        params,
    )
    assert [(f.name, f.dataType) for f in labels.schema] == [
        (f.name, f.dataType) for f in CHURN_LABEL_SCHEMA
    ]
    return [tuple(row.values()) for row in collect_rows(labels, ["user_id", "cutoff"])]


def test_log_span_of_the_tiny_log(tiny_log):
    span = determine_log_span(tiny_log, LOG_END_PARAMS)
    assert (span["log_start"], span["log_end"]) == (
        "2018-10-01T00:00:00",
        "2018-10-12T00:00:00",
    )
    assert span["events_after_log_end"] == 0


def test_snapshot_labels(tiny_log):
    assert _labels(tiny_log) == [
        ("cancel_at_cutoff", "2018-10-08 00:00:00", 1, CC, "2018-10-08 00:00:00"),
        ("down_then_cancel", "2018-10-06 00:00:00", 1, SD, "2018-10-06 12:00:00"),
        ("late_downgrade", "2018-10-06 00:00:00", 0, None, None),
        ("late_downgrade", "2018-10-08 00:00:00", 0, None, None),
        ("late_downgrade", "2018-10-10 00:00:00", 1, SD, "2018-10-10 00:00:00"),
        ("single", "2018-10-06 00:00:00", 0, None, None),
        ("single", "2018-10-08 00:00:00", 0, None, None),
    ]


def test_cancellation_only_preset(tiny_log):
    labels = _labels(tiny_log, churn_definition="cancellation_only")
    assert (
        "down_then_cancel",
        "2018-10-06 00:00:00",
        1,
        CC,
        "2018-10-07 08:00:00",
    ) in (labels)
    assert sum(row[2] for row in labels) == 2


def test_a_sparse_tail_is_not_labelled(spark, tiny_log):
    """Two busy weeks, then one stray downgrade a week later: the log ends after the busy
    days, so no horizon runs into the tail and the stray churn is nobody's label."""
    busy = [
        event(f"u{k}", f"2018-10-{day:02d} {hour:02d}:00")
        for day in range(1, 15)
        for k, hour in enumerate(range(8, 20))
    ]
    log = make_clean_events(spark, [*busy, event("u0", "2018-10-21 10:00", SD)])
    span = determine_log_span(log, LOG_END_PARAMS)
    assert span["log_end"] == "2018-10-15T00:00:00"
    assert span["midnight_after_last_event"] == "2018-10-22T00:00:00"
    assert (span["days_after_log_end"], span["events_after_log_end"]) == (1, 1)
    params = _params()
    labels = collect_rows(
        build_churn_labels(log, select_churn_events(log, params), span, params),
        ["user_id", "cutoff"],
    )
    assert {row["cutoff"] for row in labels} == {
        "2018-10-05 00:00:00",
        "2018-10-07 00:00:00",
        "2018-10-09 00:00:00",
        "2018-10-11 00:00:00",
        "2018-10-13 00:00:00",
    }
    assert all(row["label"] == 0 for row in labels)
    overridden = determine_log_span(log, {**LOG_END_PARAMS, "override": "2018-10-23"})
    assert overridden["log_end"] == "2018-10-23T00:00:00"


def test_user_mode_labels(tiny_log):
    assert _labels(tiny_log, mode="user") == [
        ("cancel_at_cutoff", "2018-10-08 00:00:00", 1, CC, "2018-10-08 00:00:00"),
        ("down_then_cancel", "2018-10-06 12:00:00", 1, SD, "2018-10-06 12:00:00"),
        ("filler", "2018-10-12 00:00:00", 0, None, None),
        ("late_downgrade", "2018-10-10 00:00:00", 1, SD, "2018-10-10 00:00:00"),
        ("single", "2018-10-12 00:00:00", 0, None, None),
    ]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"churn_definition": "nope"}, "Unknown churn_definition"),
        ({"churn_definitions": {"paid_to_free_or_cancel": ["Quit"]}}, "unknown"),
        ({"churn_definitions": {"paid_to_free_or_cancel": []}}, "must list"),
    ],
)
def test_churn_pages_rejects_bad_definitions(params, message):
    with pytest.raises(ValueError, match=message):
        churn_pages(_params(**params))


def test_unknown_mode_is_rejected(tiny_log):
    params = _params(mode="weekly")
    span = determine_log_span(tiny_log, LOG_END_PARAMS)
    with pytest.raises(ValueError, match="snapshot"):
        build_churn_labels(
            tiny_log, select_churn_events(tiny_log, params), span, params
        )
