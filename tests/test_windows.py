"""The log's span and the snapshot cutoffs (``sparkify_kedro.windows``), by hand."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from sparkify_kedro.windows import choose_log_span, snapshot_cutoff_times


def _daily(counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": [date.fromisoformat(d) for d in counts],
            "events": list(counts.values()),
        }
    )


#: The published mini log's shape: busy days, then a handful of rows on the last days.
MINI_LIKE = _daily(
    {
        "2018-11-28": 4000,
        "2018-11-29": 4200,
        "2018-11-30": 3900,
        "2018-12-01": 2,
        "2018-12-03": 2,
    }
)


def test_the_end_ignores_a_sparse_tail():
    span = choose_log_span(MINI_LIKE, 0.1)
    assert span["log_start"] == "2018-11-28T00:00:00"
    assert span["log_end"] == span["derived_log_end"] == "2018-12-01T00:00:00"
    assert span["midnight_after_last_event"] == "2018-12-04T00:00:00"
    assert (span["days_after_log_end"], span["events_after_log_end"]) == (2, 4)
    assert "3900" in span["rule"]  # the median day


def test_share_zero_keeps_every_day_and_an_override_wins():
    assert choose_log_span(MINI_LIKE, 0.0)["log_end"] == "2018-12-04T00:00:00"
    span = choose_log_span(MINI_LIKE, 0.1, "2018-11-30")
    assert span["log_end"] == "2018-11-30T00:00:00"
    assert span["derived_log_end"] == "2018-12-01T00:00:00"
    assert span["events_after_log_end"] == 3904
    assert span["rule"].startswith("override")


def test_an_empty_log_or_a_bad_share_is_a_clear_error():
    with pytest.raises(ValueError, match="no events"):
        choose_log_span(_daily({}), 0.1)
    with pytest.raises(ValueError, match="min_day_share"):
        choose_log_span(MINI_LIKE, 1.5)


@pytest.mark.parametrize(
    "observation, horizon, stride, expected",
    [
        # log 10-01 .. 10-12: last cutoff 10-10, back by 2 while 4 days remain before it
        (4, 2, 2, ["2018-10-06", "2018-10-08", "2018-10-10"]),
        (8, 3, 1, ["2018-10-09"]),  # exactly one fits
        (9, 3, 1, []),  # the log is shorter than both windows
    ],
)
def test_snapshot_cutoffs_are_anchored_at_the_end(
    observation, horizon, stride, expected
):
    span = {"log_start": "2018-10-01T00:00:00", "log_end": "2018-10-12T00:00:00"}
    assert snapshot_cutoff_times(span, observation, horizon, stride) == [
        datetime.fromisoformat(day) for day in expected
    ]
