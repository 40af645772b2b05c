"""Unit tests of the data_processing nodes, on lines built in each test."""

from __future__ import annotations

import json
from datetime import datetime
from functools import reduce

import pytest
from pyspark.sql import DataFrame, SparkSession

from sparkify_kedro.events import CLEAN_EVENT_SCHEMA
from sparkify_kedro.pipelines.data_processing import books
from sparkify_kedro.pipelines.data_processing.nodes import (
    NoReadableEventError,
    build_clean_events,
    build_data_quality_report,
    drop_duplicate_events,
    extract_quarantined_lines,
    parse_event_lines,
)
from tests.pipelines.data_processing.event_lines import (
    BASE_EVENT,
    BASE_TS,
    DATA_PROCESSING,
    clean_and_books,
    event_line,
    lines_frame,
    observed_books,
    parse,
    parse_frame,
)


def test_a_well_formed_line_is_kept_and_typed(spark):
    [row] = parse(spark, [event_line()])
    assert (row["record_status"], row["reason"], row["raw_line"]) == ("ok", None, None)
    assert row["ts"] == datetime(2018, 10, 1, 0, 1, 57)
    assert row["registration"] == datetime(2018, 9, 28, 22, 22, 42)
    assert row["user_id"] == "30"
    assert row["session_id"] == 29
    assert row["status"] == 200
    assert row["item_in_session"] == 50
    assert row["length"] == pytest.approx(277.89016)


def test_dialects_of_eventsim_exports_keep_every_value(spark):
    shuffled_keys = json.dumps(dict(reversed(list(BASE_EVENT.items()))))
    rows = parse(
        spark,
        [
            event_line(registration=1540919166796.0),
            event_line(userId=18),
            event_line(userId=18.0),
            event_line(ts="1538352117000", sessionId="29"),
            event_line(userAgent='"Mozilla/5.0 (Macintosh)"'),
            shuffled_keys,
        ],
    )
    assert all(row["record_status"] == "ok" for row in rows)
    assert rows[0]["registration"] == datetime(2018, 10, 30, 17, 6, 6, 796000)
    assert [rows[1]["user_id"], rows[2]["user_id"]] == ["18", "18"]
    assert (rows[3]["ts"], rows[3]["session_id"]) == (
        datetime(2018, 10, 1, 0, 1, 57),
        29,
    )
    assert rows[4]["user_agent"] == "Mozilla/5.0 (Macintosh)"
    assert rows[5] == parse(spark, [event_line()])[0]


def test_a_missing_optional_column_is_null_not_a_loss(spark):
    [row] = parse(spark, [event_line(registration=..., gender=..., artist=...)])
    assert row["record_status"] == "ok"
    assert (row["registration"], row["gender"], row["artist"]) == (None, None, None)
    assert row["song"] == "Rockpools"


def clean(spark: SparkSession, lines: list[str]) -> list[dict]:
    frame, *_ = clean_and_books(parse_frame(spark, lines))
    return [row.asDict() for row in frame.orderBy("ts").collect()]


def test_double_encoded_text_is_repaired_and_real_latin1_left_alone(spark):
    rows = clean(
        spark,
        [
            event_line(
                ts=BASE_TS + 1, artist="BjÃ\u0083Â¶rk", song="JÃ³ga"
            ),  # twice, once
            event_line(
                ts=BASE_TS + 2, artist="Björk", song="Ãa", location="Zürich, ZH"
            ),
            event_line(ts=BASE_TS + 3, firstName="ZoÃ«", lastName="MÃ¼ller"),
        ],
    )
    assert (rows[0]["artist"], rows[0]["song"]) == ("Björk", "Jóga")
    assert (rows[1]["artist"], rows[1]["song"], rows[1]["location"]) == (
        "Björk",
        "Ãa",
        "Zürich, ZH",
    )
    assert (rows[2]["first_name"], rows[2]["last_name"]) == ("Zoë", "Müller")


def test_exact_duplicates_are_dropped_but_near_duplicates_kept(spark):
    rows = clean(spark, [event_line(), event_line(), event_line(itemInSession=51)])
    assert [row["item_in_session"] for row in rows] == [50, 51]


def test_unknown_pages_are_kept_and_flagged(spark):
    rows = clean(
        spark, [event_line(ts=BASE_TS + 1, page="Jukebox"), event_line(ts=BASE_TS + 2)]
    )
    assert [(row["page"], row["is_known_page"]) for row in rows] == [
        ("Jukebox", False),
        ("NextSong", True),
    ]


def test_clean_events_have_the_declared_schema_and_utc_event_date(spark):
    frame, *_ = clean_and_books(parse_frame(spark, [event_line(ts=1538438399999)]))
    assert frame.schema == CLEAN_EVENT_SCHEMA
    assert str(frame.first()["event_date"]) == "2018-10-01"


def test_data_quality_report_books_balance(spark):
    lines = [
        event_line(ts=BASE_TS + 1),
        event_line(ts=BASE_TS + 1),  # duplicate
        event_line(ts=BASE_TS + 2, page="Jukebox", artist=None),
        event_line(ts=BASE_TS + 3, userId="", auth="Logged Out"),
        event_line(ts=BASE_TS + 4, userId="", auth="Guest"),
        "",
        "not json",
        event_line(ts="x"),
        event_line(ts=1538438400000, userId="31"),
    ]
    clean, line_books, profile, duplicates = clean_and_books(parse_frame(spark, lines))
    report = build_data_quality_report(line_books, profile, duplicates, clean)
    assert report["lines_read"] == 9
    assert report["rows_kept"] == 3
    assert report["rows_dropped_by_reason"] == {
        "blank_line": 1,
        "duplicate_event": 1,
        "guest": 1,
        "logged_out": 1,
    }
    assert report["rows_dropped"] == 4
    assert report["lines_quarantined_by_reason"] == {
        "invalid_ts": 1,
        "malformed_json": 1,
    }
    assert report["lines_quarantined"] == 2
    assert report["lines_read"] == (
        report["rows_kept"] + report["rows_dropped"] + report["lines_quarantined"]
    )
    assert report["books_balance"] is True
    assert report["distinct_users"] == 2
    assert report["first_event_time"] == "2018-10-01T00:01:57.001Z"
    assert report["last_event_time"] == "2018-10-02T00:00:00.000Z"
    assert report["nulls_per_column"]["artist"] == 1
    assert report["nulls_per_column"]["ts"] == 0
    assert report["unknown_page_rows"] == 1
    assert report["unknown_pages"] == {"Jukebox": 1}
    assert report["input_files"] == [{"file": "file:/log/events.json", "lines": 9}]


def test_exact_duplicates_in_different_files_and_partitions_are_one_event(spark):
    line = event_line()
    raw = lines_frame(spark, [line, event_line(ts=BASE_TS + 1)]).union(
        lines_frame(spark, [line, line], source_file="file:/log/other.json")
    )
    parsed = parse_event_lines(raw.repartition(3), DATA_PROCESSING).localCheckpoint()
    clean, line_books, profile, duplicates = clean_and_books(parsed)
    assert clean.count() == duplicates["rows_kept"] == 2
    assert [(f["file"], f["lines"]) for f in line_books["files"]] == [
        ("file:/log/events.json", 2),
        ("file:/log/other.json", 2),
    ]


def deduplicated(spark, lines: list[str]):
    """``drop_duplicate_events`` of the lines' kept events: (rewritten days, the count)."""
    kept, *_ = build_clean_events(parse_frame(spark, lines))
    return drop_duplicate_events(kept, {"rows": len(lines)})


def test_only_the_days_holding_an_exact_duplicate_are_rewritten(spark):
    day_two = BASE_TS + 86_400_000
    lines = [event_line(), event_line(), event_line(ts=BASE_TS + 1)]
    lines += [event_line(ts=day_two), event_line(ts=day_two, itemInSession=51)]
    rewritten, duplicates = deduplicated(spark, lines)
    assert duplicates == {
        "rows_removed": 1,
        "days_rewritten": ["2018-10-01"],
        "rows_kept": 4,
    }
    assert sorted(row["ts"] for row in rewritten.collect()) == [
        datetime(2018, 10, 1, 0, 1, 57),
        datetime(2018, 10, 1, 0, 1, 57, 1000),
    ]


def test_events_alike_on_the_key_alone_cost_a_rewrite_and_keep_both(spark):
    """Same user, session, item and time, another song: the key repeats, so the day is
    checked on every column, and both events stay."""
    lines = [event_line(), event_line(song="Another song"), event_line(ts=BASE_TS + 1)]
    rewritten, duplicates = deduplicated(spark, lines)
    assert duplicates == {
        "rows_removed": 0,
        "days_rewritten": ["2018-10-01"],
        "rows_kept": 3,
    }
    assert sorted(row["song"] for row in rewritten.collect()) == sorted(
        [BASE_EVENT["song"], "Another song", BASE_EVENT["song"]]
    )


def test_a_log_without_an_exact_duplicate_rewrites_nothing(spark):
    lines = [event_line(), event_line(itemInSession=51), event_line(userId="31")]
    rewritten, duplicates = deduplicated(spark, lines)
    assert duplicates == {"rows_removed": 0, "days_rewritten": [], "rows_kept": 3}
    assert rewritten.schema == CLEAN_EVENT_SCHEMA and rewritten.count() == 0


def test_the_quarantine_reads_only_the_files_the_books_found_bad_lines_in(spark):
    """When the books could not keep every quarantined line (here: none of them)."""
    parsed = parse_frame(spark, [event_line(), "not json"])
    bad_file = {"file": "file:/log/events.json", "lines": 2}
    found = extract_quarantined_lines(
        parsed,
        {"files": [bad_file | {"quarantined": 1}], "first_quarantined_lines": None},
    )
    skipped = extract_quarantined_lines(
        parsed,
        {"files": [bad_file | {"quarantined": 0}], "first_quarantined_lines": None},
    )
    assert [tuple(row) for row in found.collect()] == [
        ("not json", "malformed_json", "file:/log/events.json")
    ]
    assert skipped.collect() == []


@pytest.mark.parametrize(
    ("kept_lines", "long_line"), [(2, False), (1_000, True)], ids=["many", "long"]
)
def test_the_quarantine_is_read_again_when_the_books_could_not_keep_every_line(
    spark, monkeypatch, kept_lines, long_line
):
    """More quarantined lines than the books keep, or one longer than they keep: the
    quarantine is then queried, and holds every line."""
    monkeypatch.setattr(books, "KEPT_LINES", kept_lines)
    bad = ["not json", event_line(ts=0), event_line(status=99)]
    if long_line:
        bad[1] = event_line(ts=0, song="x" * books.KEPT_LINE_BYTES)
    parsed = parse_frame(spark, [event_line(), *bad])
    line_books = observed_books(parsed)
    assert books.quarantined_lines(line_books) is None
    found = extract_quarantined_lines(parsed, line_books)
    assert [tuple(row) for row in found.collect()] == [
        (line, reason, "file:/log/events.json")
        for line, reason in zip(
            bad,
            ["malformed_json", "out_of_range_ts", "out_of_range_status"],
            strict=True,
        )
    ]


def test_an_input_without_a_kept_event_is_described_from_one_pass(spark):
    """The error names the first files, counts every reason and quotes the first
    quarantined line in reading order: not the smallest line, not one of the most
    frequent reason."""
    files = [f"file:/log/part-{number}.json" for number in range(5)]
    raw = reduce(
        DataFrame.union,
        [
            lines_frame(
                spark,
                ["~~~ not json", "", event_line(userId="", auth="Logged Out")],
                files[0],
            ),
            lines_frame(spark, [event_line(ts=0)], files[1]),
            lines_frame(spark, ["", ""], files[2]),
            lines_frame(spark, [""], files[3]),
            lines_frame(spark, ["aaa not json", ""], files[4]),
        ],
    )
    with pytest.raises(NoReadableEventError) as error:
        parse_event_lines(raw, DATA_PROCESSING)
    assert str(error.value) == (
        "No readable event in file:/log/part-0.json, file:/log/part-1.json, "
        "file:/log/part-2.json and more files: 9 lines read, none of them a logged-in "
        "event (5 blank_line, 2 malformed_json, 1 logged_out, 1 out_of_range_ts); "
        "the first unreadable line: '~~~ not json'. Nothing was written."
    )
