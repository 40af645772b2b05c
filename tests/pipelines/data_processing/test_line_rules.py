"""Every rule of ``line_rules.py``: what happens to one line, its field values and its reason.

All the lines are parsed once, together, behind one well-formed line (an input without a
kept event stops the run, see ``test_empty_inputs.py``); each case then reads its own row.
"""

from __future__ import annotations

import json
import random
from datetime import datetime

import pytest

from sparkify_kedro.pipelines.data_processing.json_reading import (
    WHITESPACE,
    strip_whitespace,
)
from sparkify_kedro.pipelines.data_processing.line_rules import OUTCOMES
from sparkify_kedro.pipelines.data_processing.nodes import (
    extract_quarantined_lines,
    parse_event_lines,
)
from tests.pipelines.data_processing.event_lines import (
    BASE_EVENT,
    BASE_TS,
    DATA_PROCESSING,
    event_line,
    observed_books,
    parse,
    parse_frame,
)

OK, DROPPED, QUARANTINED = "ok", "dropped", "quarantined"
GOOD = event_line()
# 2^53 + 1: the first integer a double cannot hold.
BEYOND_DOUBLE = 9007199254740993


def raw_line(text_of_fields: str) -> str:
    """BASE_EVENT with ``text_of_fields`` (raw JSON text, e.g. ``"length": NaN``) at the end."""
    return event_line()[:-1] + ", " + text_of_fields + "}"


# (case, line, fate, reason)
CASES: list[tuple[str, str, str, str | None]] = [
    # not one JSON object
    (
        "truncated",
        '{"ts":1538352117000,"userId":"30","page":"Ho',
        QUARANTINED,
        "malformed_json",
    ),
    ("not json", "this is not json", QUARANTINED, "malformed_json"),
    ("array", "[1, 2, 3]", QUARANTINED, "malformed_json"),
    ("json null", "null", QUARANTINED, "malformed_json"),
    ("csv header", "ts,userId,sessionId,page", QUARANTINED, "malformed_json"),
    ("two objects", GOOD + GOOD, QUARANTINED, "text_after_json_value"),
    (
        "object and fragment",
        GOOD + ' {"ts": 15383',
        QUARANTINED,
        "text_after_json_value",
    ),
    ("object and closing", GOOD + "]}", QUARANTINED, "text_after_json_value"),
    ("object, comma", GOOD + ",", QUARANTINED, "text_after_json_value"),
    ("two values", GOOD + ", " + GOOD, QUARANTINED, "multiple_json_values"),
    ("object and number", GOOD + ", 42", QUARANTINED, "text_after_json_value"),
    # required fields
    ("no ts", event_line(ts=...), QUARANTINED, "missing_ts"),
    ("null page", event_line(page=None), QUARANTINED, "missing_page"),
    ("blank page", event_line(page=" \t"), QUARANTINED, "missing_page"),
    ("no session", event_line(sessionId=...), QUARANTINED, "missing_sessionId"),
    # values that are not the number they must be
    ("ts word", event_line(ts="yesterday"), QUARANTINED, "invalid_ts"),
    ("session word", event_line(sessionId="abc"), QUARANTINED, "invalid_sessionId"),
    ("status fraction", event_line(status=200.5), QUARANTINED, "invalid_status"),
    (
        "registration word",
        event_line(registration="soon"),
        QUARANTINED,
        "invalid_registration",
    ),
    ("length word", event_line(length="long"), QUARANTINED, "invalid_length"),
    ("ts object", event_line(ts={"ms": 1}), QUARANTINED, "invalid_ts"),
    ("length NaN", raw_line('"length": NaN'), QUARANTINED, "invalid_length"),
    ("length Infinity", raw_line('"length": Infinity'), QUARANTINED, "invalid_length"),
    (
        "length -Infinity",
        raw_line('"length": -Infinity'),
        QUARANTINED,
        "invalid_length",
    ),
    ("length 'NaN'", event_line(length="NaN"), QUARANTINED, "invalid_length"),
    ("ts 1e400", raw_line('"ts": 1e400'), QUARANTINED, "invalid_ts"),
    # numbers beyond their column: one line, not the run
    ("ts > long", event_line(ts=10**25), QUARANTINED, "out_of_range_ts"),
    ("ts long max", event_line(ts=2**63 - 1), QUARANTINED, "out_of_range_ts"),
    ("ts 1e300", raw_line('"ts": 1e300'), QUARANTINED, "out_of_range_ts"),
    (
        "session > long",
        event_line(sessionId=10**20),
        QUARANTINED,
        "out_of_range_sessionId",
    ),
    ("session < 0", event_line(sessionId=-3), QUARANTINED, "out_of_range_sessionId"),
    ("status > int", event_line(status=2**31), QUARANTINED, "out_of_range_status"),
    ("status 99", event_line(status=99), QUARANTINED, "out_of_range_status"),
    (
        "item > long",
        event_line(itemInSession=10**19),
        QUARANTINED,
        "out_of_range_itemInSession",
    ),
    (
        "item < 0",
        event_line(itemInSession=-1),
        QUARANTINED,
        "out_of_range_itemInSession",
    ),
    (
        "registration > long",
        event_line(registration=10**22),
        QUARANTINED,
        "out_of_range_registration",
    ),
    ("length < 0", event_line(length=-1.5), QUARANTINED, "out_of_range_length"),
    ("length 1e6", event_line(length=1e6), QUARANTINED, "out_of_range_length"),
    ("length 1e308", event_line(length=1e308), QUARANTINED, "out_of_range_length"),
    # implausible times
    ("ts zero", event_line(ts=0), QUARANTINED, "out_of_range_ts"),
    ("ts negative", event_line(ts=-1538352117000), QUARANTINED, "out_of_range_ts"),
    ("ts in 1970", event_line(ts=86_400_000), QUARANTINED, "out_of_range_ts"),
    (
        "ts in 2318",
        event_line(ts=BASE_TS + 300 * 365 * 86_400_000),
        QUARANTINED,
        "out_of_range_ts",
    ),
    (
        "ts in microseconds",
        event_line(ts=BASE_TS * 1000),
        QUARANTINED,
        "out_of_range_ts",
    ),
    (
        "registration in 1970",
        event_line(registration=5),
        QUARANTINED,
        "out_of_range_registration",
    ),
    # integers a double cannot hold, written as floats: digits lost
    (
        "session float > 2^53",
        raw_line(f'"sessionId": {BEYOND_DOUBLE}.0'),
        QUARANTINED,
        "inexact_sessionId",
    ),
    # read, and kept
    ("ts in seconds", event_line(ts=BASE_TS // 1000), OK, None),
    ("registration in seconds", event_line(registration=1538173362), OK, None),
    ("session int > 2^53", event_line(sessionId=BEYOND_DOUBLE), OK, None),
    ("ts as float", event_line(ts=float(BASE_TS)), OK, None),
    ("ts as exponent", raw_line('"ts": 1.538352117E12'), OK, None),
    ("ts padded", event_line(ts=f"\t{BASE_TS} "), OK, None),
    ("user id tabs", event_line(userId="\t30\t"), OK, None),
    ("user id spaces", event_line(userId="  30 "), OK, None),
    ("user id nbsp", event_line(userId="30\u00a0"), OK, None),
    ("user id float", event_line(userId=30.0), OK, None),
    ("page padded", event_line(page="NextSong\t"), OK, None),
    ("byte-order mark", "\ufeff" + event_line(), OK, None),
    ("length 0", event_line(length=0), OK, None),
    # no user
    (
        "logged out",
        event_line(userId="", auth="Logged Out", page="Home"),
        DROPPED,
        "logged_out",
    ),
    ("guest", event_line(userId="", auth="Guest", page="Register"), DROPPED, "guest"),
    (
        "logged out, id",
        event_line(userId="1261737", auth="Logged Out"),
        DROPPED,
        "logged_out",
    ),
    (
        "logged out, padded",
        event_line(userId="", auth=" Logged Out\t"),
        DROPPED,
        "logged_out",
    ),
    ("empty user id", event_line(userId=""), DROPPED, "missing_user_id"),
    ("blank user id", event_line(userId="\t "), DROPPED, "missing_user_id"),
    ("no user id", event_line(userId=...), DROPPED, "missing_user_id"),
    ("empty line", "", DROPPED, "blank_line"),
    ("spaces", "   ", DROPPED, "blank_line"),
    ("tabs and bom", "\t\ufeff ", DROPPED, "blank_line"),
]


def test_the_books_count_every_reason_a_rule_gives():
    reasons = {(fate, reason) for _, _, fate, reason in CASES}
    assert reasons <= set(OUTCOMES)
    assert len(set(OUTCOMES)) == len(OUTCOMES)


def quarantine_of(event_lines, line_books: dict, kept_by_the_books: bool) -> list:
    """``extract_quarantined_lines`` as tuples, from the lines the books kept or, when
    ``kept_by_the_books`` is false, from a query of ``event_lines``."""
    if not kept_by_the_books:
        line_books = {**line_books, "first_quarantined_lines": None}
    quarantine = extract_quarantined_lines(event_lines, line_books)
    return [tuple(row) for row in quarantine.collect()]


@pytest.fixture(scope="module")
def parsed_cases(spark):
    """Every case's line parsed once, behind a good line; case -> (row, quarantine row
    kept by the books, quarantine row queried)."""
    lines = [GOOD] + [line for _, line, _, _ in CASES]
    parsed = parse_frame(spark, lines)
    rows = [row.asDict() for row in parsed.collect()][1:]
    line_books = observed_books(parsed)
    quarantines = [
        {row[0]: row for row in quarantine_of(parsed, line_books, kept)}
        for kept in (True, False)
    ]
    return {
        case: (row, *[quarantine.get(line) for quarantine in quarantines])
        for (case, line, _, _), row in zip(CASES, rows, strict=True)
    }


@pytest.mark.parametrize(
    ("case", "line", "fate", "reason"), CASES, ids=[c[0] for c in CASES]
)
def test_each_line_gets_its_fate_and_reason(parsed_cases, case, line, fate, reason):
    row, kept, queried = parsed_cases[case]
    assert (row["record_status"], row["reason"]) == (fate, reason)
    if fate == QUARANTINED:
        # verbatim, whole, with the reason and the file, whichever way it is extracted
        assert row["raw_line"] == line
        assert kept == queried == (line, reason, "file:/log/events.json")
    else:
        assert row["raw_line"] is None
        assert kept is queried is None


def test_a_quarantined_value_leaves_no_typed_value_behind(parsed_cases):
    """An out-of-range number is never half-read (a wrapped long, an overflowed time)."""
    for case, _, fate, reason in CASES:
        row, *_ = parsed_cases[case]
        if fate == QUARANTINED and reason.startswith(("out_of_range", "inexact")):
            field = reason.split("_")[-1]
            column = {
                "sessionId": "session_id",
                "itemInSession": "item_in_session",
            }.get(field, field)
            assert row[column] is None, case


def test_a_time_written_in_seconds_is_converted_and_flagged(parsed_cases):
    row, *_ = parsed_cases["ts in seconds"]
    assert row["ts"] == datetime(2018, 10, 1, 0, 1, 57)
    assert (row["ts_from_seconds"], row["registration_from_seconds"]) == (True, False)
    row, *_ = parsed_cases["registration in seconds"]
    assert row["registration"] == datetime(2018, 9, 28, 22, 22, 42)
    assert (row["ts_from_seconds"], row["registration_from_seconds"]) == (False, True)
    row, *_ = parsed_cases["ts as float"]
    assert (row["ts"], row["ts_from_seconds"]) == (
        datetime(2018, 10, 1, 0, 1, 57),
        False,
    )


def test_integers_are_read_exactly(parsed_cases):
    assert parsed_cases["session int > 2^53"][0]["session_id"] == BEYOND_DOUBLE
    assert parsed_cases["ts as exponent"][0]["ts"] == datetime(2018, 10, 1, 0, 1, 57)
    assert parsed_cases["ts padded"][0]["ts"] == datetime(2018, 10, 1, 0, 1, 57)


def test_ids_and_pages_are_the_same_whatever_the_whitespace(parsed_cases):
    for case in ("user id tabs", "user id spaces", "user id nbsp", "user id float"):
        assert parsed_cases[case][0]["user_id"] == "30", case
    assert parsed_cases["page padded"][0]["page"] == "NextSong"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_whitespace_is_stripped_at_both_ends_only(spark, seed):
    """Texts of whitespace, ASCII and multi-byte characters, in any order, padded or not:
    strip_whitespace gives what stripping every end character would."""
    rng = random.Random(seed)
    alphabet = [*WHITESPACE, "a", "Z", "0", " ", "é", "ß", "€", "😀", "x y"]
    texts = [None, "", *WHITESPACE] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        for _ in range(300)
    ]
    rows = spark.createDataFrame([(text,) for text in texts], "text string")
    stripped = [row[0] for row in rows.select(strip_whitespace(rows["text"])).collect()]
    expected = [None if text is None else text.strip(WHITESPACE) for text in texts]
    assert stripped == expected


def test_a_byte_order_mark_is_not_part_of_the_event(parsed_cases):
    row, *_ = parsed_cases["byte-order mark"]
    assert (row["ts"], row["user_id"], row["page"]) == (
        datetime(2018, 10, 1, 0, 1, 57),
        "30",
        "NextSong",
    )


def test_text_fields_other_than_ids_are_kept_verbatim(spark):
    padded = {
        "artist": " Martha\tTilston ",
        "song": "\u00a0Rockpools",
        "location": " x ",
    }
    [row] = [r.asDict() for r in parse_frame(spark, [event_line(**padded)]).collect()]
    assert (row["artist"], row["song"], row["location"]) == tuple(padded.values())


# ----------------------------------------------- property: one bad field, one lost line
# field -> (raw JSON text of a bad value, the reason it must get)
CORRUPTIONS: dict[str, list[tuple[str, str]]] = {
    "ts": [
        ("1e400", "invalid_ts"),
        ('"noon"', "invalid_ts"),
        ("-1", "out_of_range_ts"),
        ("99999999999999999999", "out_of_range_ts"),
        ("4102444800001", "out_of_range_ts"),  # 2100-01-01
    ],
    "sessionId": [
        ("-1", "out_of_range_sessionId"),
        ("9007199254740993.0", "inexact_sessionId"),
        ("1.5", "invalid_sessionId"),
    ],
    "status": [("1e10", "out_of_range_status"), ("200.5", "invalid_status")],
    "itemInSession": [
        ("-2", "out_of_range_itemInSession"),
        ("true", "invalid_itemInSession"),
    ],
    "registration": [
        ("NaN", "invalid_registration"),
        ("1e300", "out_of_range_registration"),
    ],
    "length": [
        ("NaN", "invalid_length"),
        ("-Infinity", "invalid_length"),
        ("1e9", "out_of_range_length"),
        ("-0.5", "out_of_range_length"),
    ],
    "page": [('"  "', "missing_page"), ("null", "missing_page")],
}
PAGES = [
    "NextSong",
    "Home",
    "Thumbs Up",
    "Thumbs Down",
    "Add to Playlist",
    "Roll Advert",
]


def random_event(rng: random.Random) -> dict:
    """A valid event with random values in every field that has a rule."""
    return {
        **BASE_EVENT,
        "ts": BASE_TS + rng.randrange(60 * 86_400_000),
        "userId": str(rng.randrange(1, 300)),
        "sessionId": rng.randrange(1, 5000),
        "page": rng.choice(PAGES),
        "status": rng.choice([200, 307, 404]),
        "level": rng.choice(["free", "paid"]),
        "itemInSession": rng.randrange(0, 1000),
        "registration": BASE_TS - rng.randrange(400 * 86_400_000),
        "length": round(rng.uniform(0, 1200), 5),
    }


def with_raw_value(event: dict, field: str, raw_value: str) -> str:
    """The event as a JSON line whose ``field`` holds ``raw_value`` verbatim."""
    placeholder = "__raw_value__"
    return json.dumps({**event, field: placeholder}).replace(
        f'"{placeholder}"', raw_value
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_corrupted_field_costs_its_line_and_nothing_else(spark, seed):
    rng = random.Random(seed)
    events = [random_event(rng) for _ in range(40)]
    lines, expected_reasons = [], {}
    for index, event in enumerate(events):
        if rng.random() < 0.4:
            field = rng.choice(sorted(CORRUPTIONS))
            raw_value, reason = rng.choice(CORRUPTIONS[field])
            lines.append(with_raw_value(event, field, raw_value))
            expected_reasons[index] = reason
        else:
            lines.append(json.dumps(event))
    valid_lines = [line for i, line in enumerate(lines) if i not in expected_reasons]

    rows = parse(spark, lines)
    rows_of_valid_lines_alone = parse(spark, valid_lines)

    assert len(rows) == len(lines)  # one row per line: nothing vanishes
    for index, row in enumerate(rows):
        if index in expected_reasons:
            assert (row["record_status"], row["reason"], row["raw_line"]) == (
                "quarantined",
                expected_reasons[index],
                lines[index],
            )
    kept = [row for i, row in enumerate(rows) if i not in expected_reasons]
    assert kept == rows_of_valid_lines_alone  # every valid line reads as if alone
    assert all(row["record_status"] == "ok" for row in kept)


# --------------- property: the quarantine the books keep is the one a query of it finds
def random_mix(rng: random.Random, size: int) -> list[tuple[str, str | None]]:
    """``size`` lines, each with its reason if quarantined: valid events, lines of every
    case above, events with one corrupted field."""
    mix = []
    for _ in range(size):
        event, draw = random_event(rng), rng.random()
        if draw < 0.3:
            mix.append((json.dumps(event), None))
        elif draw < 0.65:
            _, line, fate, reason = rng.choice(CASES)
            mix.append((line, reason if fate == QUARANTINED else None))
        else:
            field = rng.choice(sorted(CORRUPTIONS))
            raw_value, reason = rng.choice(CORRUPTIONS[field])
            mix.append((with_raw_value(event, field, raw_value), reason))
    return mix


def test_the_quarantine_the_books_keep_is_the_one_a_query_finds(spark):
    """Random mixes of bad lines in three files, parsed lazily as the pipeline parses them:
    the quarantined lines the books kept in the one pass, and their reasons, are those a
    query of the parsed lines finds, line for line and in reading order; and their
    quarantine is built without planning the rules again."""
    mixes = {
        f"file:/log/part-{seed}.json": random_mix(random.Random(seed), 30)
        for seed in range(3)
    }
    raw = spark.createDataFrame(
        [
            (line, file)
            for file, mix in mixes.items()
            for line in [GOOD, *(line for line, _ in mix)]
        ],
        "value string, source_file string",
    )
    event_lines = parse_event_lines(raw, DATA_PROCESSING)
    line_books = observed_books(event_lines)

    kept = quarantine_of(event_lines, line_books, kept_by_the_books=True)
    # the query, of the lines materialised: unmaterialised, a few lines plan for minutes
    queried = quarantine_of(
        event_lines.localCheckpoint(), line_books, kept_by_the_books=False
    )
    assert (
        kept
        == queried
        == [
            (line, reason, file)
            for file, mix in mixes.items()
            for line, reason in mix
            if reason is not None
        ]
    )
    plan = extract_quarantined_lines(event_lines, line_books)._jdf.queryExecution()
    assert "from_json" not in plan.optimizedPlan().toString()


# ------------------------------- property: one event, any dialect, the same typed values
# A line whose numbers are plain JSON integers (a float for length) is read by the typed
# reading; any other spelling of the same values goes through the text reading. Both must
# give the same row, and the right one, whatever the values.
def dialects_of(event: dict, rng: random.Random) -> list[str]:
    """``event`` as JSON lines in several eventsim dialects, every one a valid event."""
    integers = ("ts", "sessionId", "status", "itemInSession", "registration")
    padded = rng.choice([" ", "\t", "\u00a0", "\ufeff"])
    return [
        json.dumps(event),  # the typed reading
        json.dumps({**event, **{k: f"{padded}{event[k]}" for k in integers}}),
        json.dumps({**event, **{k: float(event[k]) for k in integers}}),
        json.dumps({**event, "length": str(event["length"])}),
        json.dumps({**event, "userId": f"{padded}{event['userId']}{padded}"}),
        with_raw_value(event, "ts", f"{event['ts']:.15e}"),  # 1.538352117000000e+12
        "\ufeff" + json.dumps(event),
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_same_event_reads_the_same_in_every_dialect(spark, seed):
    rng = random.Random(seed)
    events = [random_event(rng) for _ in range(15)]
    # an out-of-range value too: each dialect must give it the same reason
    events += [{**random_event(rng), "status": 99}, {**random_event(rng), "ts": 5}]
    lines = [dialects_of(event, rng) for event in events]
    rows = parse(spark, [line for dialects in lines for line in dialects])
    per_event = len(lines[0])
    for index, event in enumerate(events):
        readings = [
            {k: v for k, v in row.items() if k != "raw_line"}
            for row in rows[index * per_event : (index + 1) * per_event]
        ]
        assert all(reading == readings[0] for reading in readings), lines[index]
        first = readings[0]
        if first["record_status"] == OK:
            assert (
                first["session_id"],
                first["status"],
                first["item_in_session"],
                first["length"],
                first["user_id"],
                first["ts"],
            ) == (
                event["sessionId"],
                event["status"],
                event["itemInSession"],
                event["length"],
                event["userId"],
                datetime.utcfromtimestamp(event["ts"] / 1000),
            )
    assert [row["reason"] for row in rows[-2 * per_event :]] == (
        ["out_of_range_status"] * per_event + ["out_of_range_ts"] * per_event
    )
