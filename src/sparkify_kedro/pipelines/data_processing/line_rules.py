"""How one raw line is typed and judged (its parsing: ``json_reading.py``), no Spark action.

A line is parsed wrapped in a JSON array, so that a line holding more than one JSON value
(or a value followed by a fragment) is seen and quarantined whole instead of being cut to
its first value. Nearly every line of a real log is one object whose numbers are plain JSON
integers (a float for ``length``): those are read once, with the numeric fields typed by the
parser itself, exactly (the *typed reading*). Any other line is parsed again with every field
as text and typed here (the *text reading*), so that a value in any eventsim dialect
survives, an integer is read exactly or not at all, and a value outside what its column (or
the calendar) can hold becomes a quarantine reason naming the field instead of an overflow
error that stops the whole run. Both readings meet the same rules: the typed one only
supplies a value the text one would have read the same way.

``classify_lines`` returns one row per line with the typed values, the fate of the line
(``record_status``, ``reason``) and which timestamps were read as seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkify_kedro.events import ANONYMOUS_AUTH
from sparkify_kedro.pipelines.data_processing.json_reading import (
    TYPED_FIELDS,
    field_texts,
    json_reading,
)

OK, DROPPED, QUARANTINED = "ok", "dropped", "quarantined"

_EXACT_DOUBLE_LIMIT = 2**53
_LONG_LIMIT = 2**63
_REQUIRED_FIELDS = ("ts", "page", "sessionId")
# Fields typed as integers: (name, smallest plausible value, largest plausible value).
# ts and registration get the plausible time range of the parameters instead.
_COUNT_LIKE_FIELDS = (
    ("sessionId", 0, _LONG_LIMIT - 1),
    ("itemInSession", 0, _LONG_LIMIT - 1),
    ("status", 100, 599),  # an HTTP status
)
_TIME_FIELDS = ("ts", "registration")


@dataclass(frozen=True)
class PlausibleValues:
    """The values a real event can hold (``params:data_processing``)."""

    earliest_millis: int
    latest_millis: int
    longest_song_seconds: float

    @classmethod
    def from_params(cls, params: dict) -> PlausibleValues:
        """``{"plausible_time_range": {"earliest": ..., "latest": ...}, "longest_song_seconds": ...}``."""
        time_range = params["plausible_time_range"]
        earliest, latest = (
            _epoch_millis(time_range[end]) for end in ("earliest", "latest")
        )
        if earliest >= latest:
            raise ValueError(
                f"data_processing.plausible_time_range: earliest ({time_range['earliest']})"
                f" must come before latest ({time_range['latest']})."
            )
        return cls(earliest, latest, float(params["longest_song_seconds"]))


def _epoch_millis(moment: object) -> int:
    """``2000-01-01`` or ``2000-01-01T00:00:00Z`` (UTC unless it says otherwise) in ms."""
    parsed = datetime.fromisoformat(str(moment).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def _integer_readings(
    lines: DataFrame, bounds: dict[str, tuple[int, int]]
) -> DataFrame:
    """Adds ``<field>_value`` (a long) and ``<field>_problem`` for each field of ``bounds``.

    The typed reading's value, when there is one, is the read integer. Otherwise digits
    are read exactly from the text. A whole number written as a float (``1540919166796.0``,
    ``1.538352117E12``; Spark hands them over as a double's text) is taken when it is below
    2^53, where a double holds every integer exactly; above, the written digits are lost:
    ``inexact``. Not a whole finite number: ``invalid``. Beyond a long or outside its
    bounds: ``out_of_range``. Each step is its own column (referred to, not copied, by the
    next), and the rules are SQL text: the plan stays small and quick to build.
    """
    numbers = lines.withColumns(
        {
            column: F.expr(sql)
            for name in bounds
            for column, sql in (
                (f"{name}_digits", f"try_cast({name}_text AS BIGINT)"),
                (f"{name}_number", f"try_cast({name}_text AS DOUBLE)"),
            )
        }
    )
    whole = {name: f"coalesce({name}_number % 1 = 0, false)" for name in bounds}
    read = numbers.withColumns(
        {
            f"{name}_read": F.expr(
                f"coalesce({name}_typed, {name}_digits, CASE WHEN {whole[name]} AND "
                f"abs({name}_number) < {_EXACT_DOUBLE_LIMIT} "
                f"THEN CAST({name}_number AS BIGINT) END)"
            )
            for name in bounds
        }
    )
    judged = read.withColumns(
        {
            f"{name}_problem": F.expr(
                f"""CASE
                WHEN {name}_text IS NULL AND {name}_read IS NULL THEN NULL
                WHEN {name}_read IS NULL AND NOT {whole[name]} THEN 'invalid'
                WHEN {name}_read IS NULL AND abs({name}_number) >= {float(_LONG_LIMIT)}
                    THEN 'out_of_range'
                WHEN {name}_read IS NULL THEN 'inexact'
                WHEN {name}_read NOT BETWEEN {lowest} AND {highest} THEN 'out_of_range'
                END"""
            )
            for name, (lowest, highest) in bounds.items()
        }
    )
    return judged.withColumns(
        {
            f"{name}_value": F.expr(
                f"CASE WHEN {name}_problem IS NULL THEN {name}_read END"
            )
            for name in bounds
        }
    )


def _time_readings(lines: DataFrame, plausible: PlausibleValues) -> DataFrame:
    """Replaces ``ts_value``/``registration_value`` (read as integers) by plausible epoch
    milliseconds, and adds ``<field>_from_seconds``.

    A value outside the plausible range that falls inside it when read as seconds (a
    10-digit ``ts``, as some exports write) has one right reading: it is converted. Any
    other value outside the range is ``out_of_range``.
    """
    earliest, latest = plausible.earliest_millis, plausible.latest_millis
    flagged = lines.withColumns(
        {
            f"{name}_from_seconds": F.expr(
                f"coalesce({name}_value NOT BETWEEN {earliest} AND {latest} AND "
                f"{name}_value BETWEEN {earliest // 1000} AND {latest // 1000}, false)"
            )
            for name in _TIME_FIELDS
        }
    )
    columns: dict[str, Column] = {}
    for name in _TIME_FIELDS:
        in_range = f"{name}_value BETWEEN {earliest} AND {latest}"
        columns[f"{name}_value"] = F.expr(
            f"CASE WHEN {in_range} THEN {name}_value "
            f"WHEN {name}_from_seconds THEN {name}_value * 1000 END"
        )
        columns[f"{name}_problem"] = F.expr(
            f"coalesce({name}_problem, CASE WHEN {name}_value IS NOT NULL AND NOT "
            f"({in_range}) AND NOT {name}_from_seconds THEN 'out_of_range' END)"
        )
    return flagged.withColumns(columns)


def _length_reading(lines: DataFrame, plausible: PlausibleValues) -> DataFrame:
    """Adds ``length_value`` (seconds, a double) and ``length_problem``: ``invalid`` when not
    a finite number (``NaN``, ``Infinity``), ``out_of_range`` below 0 or above the longest
    song."""
    with_number = lines.withColumn(
        "length_number",
        F.expr("coalesce(length_typed, try_cast(length_text AS DOUBLE))"),
    )
    judged = with_number.withColumn(
        "length_problem",
        F.expr(
            f"""CASE
            WHEN length_text IS NULL AND length_number IS NULL THEN NULL
            WHEN NOT coalesce(NOT isnan(length_number)
                AND abs(length_number) < double('inf'), false) THEN 'invalid'
            WHEN length_number NOT BETWEEN 0 AND {plausible.longest_song_seconds}
                THEN 'out_of_range'
            END"""
        ),
    )
    return judged.withColumn(
        "length_value",
        F.expr("CASE WHEN length_problem IS NULL THEN length_number END"),
    )


_PROBLEMS = ("invalid", "inexact", "out_of_range")
#: Every (record_status, reason) :func:`classify_lines` can give a line (``_fate``), the
#: kept one (reason null) first: the data-quality report counts each of them.
OUTCOMES: tuple[tuple[str, str | None], ...] = (
    (OK, None),
    (DROPPED, "blank_line"),
    *[
        (QUARANTINED, reason)
        for reason in (
            "malformed_json",
            "text_after_json_value",
            "multiple_json_values",
        )
    ],
    *[(QUARANTINED, f"missing_{name}") for name in _REQUIRED_FIELDS],
    *[(QUARANTINED, f"{bad}_{name}") for name in TYPED_FIELDS for bad in _PROBLEMS],
    *[(DROPPED, who.lower().replace(" ", "_")) for who in sorted(ANONYMOUS_AUTH)],
    (DROPPED, "missing_user_id"),
)


def _fate() -> Column:
    """A struct (record_status, reason) for one line, the first matching rule winning."""

    def outcome(fate: str, reason: str) -> str:
        return f"named_struct('record_status', '{fate}', 'reason', {reason})"

    rules = [
        ("line_is_blank", outcome(DROPPED, "'blank_line'")),
        ("json_status = 'malformed'", outcome(QUARANTINED, "'malformed_json'")),
        ("json_status = 'trailing'", outcome(QUARANTINED, "'text_after_json_value'")),
        ("json_status = 'several'", outcome(QUARANTINED, "'multiple_json_values'")),
        *[
            (
                f"coalesce({name}_text, '') = ''"
                + (f" AND {name}_typed IS NULL" if name in TYPED_FIELDS else ""),
                outcome(QUARANTINED, f"'missing_{name}'"),
            )
            for name in _REQUIRED_FIELDS
        ],
        *[
            (
                f"{name}_problem IS NOT NULL",
                outcome(QUARANTINED, f"concat({name}_problem, '_{name}')"),
            )
            for name in TYPED_FIELDS
        ],
        *[
            (
                f"auth_text = '{anonymous}'",
                outcome(DROPPED, f"'{anonymous.lower().replace(' ', '_')}'"),
            )
            for anonymous in sorted(ANONYMOUS_AUTH)  # logged_out, guest
        ],
        ("coalesce(userId_text, '') = ''", outcome(DROPPED, "'missing_user_id'")),
    ]
    cases = "\n".join(f"WHEN {condition} THEN {result}" for condition, result in rules)
    return F.expr(f"CASE {cases} ELSE {outcome(OK, 'CAST(NULL AS STRING)')} END")


def classify_lines(raw_lines: DataFrame, plausible: PlausibleValues) -> DataFrame:
    """One row per line: ``line`` (verbatim), ``source_file``, ``first_value`` (the parsed
    text fields), ``<field>_text`` (stripped) and ``<field>_value`` (typed) for the fields
    that have them, ``ts_from_seconds``, ``registration_from_seconds``, ``record_status``
    and ``reason``."""
    lines = field_texts(
        json_reading(raw_lines.select(F.col("value").alias("line"), "source_file"))
    )
    bounds = {name: (lowest, highest) for name, lowest, highest in _COUNT_LIKE_FIELDS}
    bounds.update(
        {name: (-(_LONG_LIMIT - 1), _LONG_LIMIT - 1) for name in _TIME_FIELDS}
    )
    read = _length_reading(
        _time_readings(_integer_readings(lines, bounds), plausible), plausible
    )
    judged = read.withColumn("outcome", _fate())
    return judged.select(
        "line",
        "source_file",
        "first_value",
        *[F.col(f"{name}_text") for name in ("page", "auth", "userId")],
        *[F.col(f"{name}_value") for name in TYPED_FIELDS],
        *[F.col(f"{name}_from_seconds") for name in _TIME_FIELDS],
        F.col("outcome")["record_status"].alias("record_status"),
        F.col("outcome")["reason"].alias("reason"),
    )
