"""How one raw line is read: Spark column expressions, no Spark action.

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
from pyspark.sql import types as T

from sparkify_kedro.events import ANONYMOUS_AUTH, RAW_FIELD_NAMES

OK, DROPPED, QUARANTINED = "ok", "dropped", "quarantined"

# The fields typed as numbers, and how the typed reading's parser reads them: a long
# accepts a JSON integer token only (no float, no string), a double any JSON number.
_TYPED_FIELD_TYPES: dict[str, T.DataType] = {
    "ts": T.LongType(),
    "sessionId": T.LongType(),
    "status": T.LongType(),
    "itemInSession": T.LongType(),
    "registration": T.LongType(),
    "length": T.DoubleType(),
}
_TYPED_FIELDS = tuple(_TYPED_FIELD_TYPES)
_TEXT_FIELDS = tuple(name for name in RAW_FIELD_NAMES if name not in _TYPED_FIELD_TYPES)
_EVENT_TEXT_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in RAW_FIELD_NAMES]
)
_EVENT_TYPED_SCHEMA = T.StructType(
    [
        T.StructField(name, _TYPED_FIELD_TYPES.get(name, T.StringType()))
        for name in RAW_FIELD_NAMES
    ]
)
_CORRUPT = "_corrupt_record"
_PERMISSIVE = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}
# The line goes between these two texts. The closing field must be read back: a line that
# closes the wrapper itself (`{...}]}`) leaves it unread, so its tail cannot go unseen.
_END_FIELD = "__sparkify_end_of_line__"
_WRAPPER_OPEN = '{"values":['
_WRAPPER_CLOSE = f'],"{_END_FIELD}":1}}'


def _wrapped_schema(event_schema: T.StructType) -> T.StructType:
    return T.StructType(
        [
            T.StructField("values", T.ArrayType(event_schema)),
            T.StructField(_END_FIELD, T.IntegerType()),
            T.StructField(_CORRUPT, T.StringType()),
        ]
    )


_DIRECT_SCHEMA = T.StructType(
    [*_EVENT_TEXT_SCHEMA.fields, T.StructField(_CORRUPT, T.StringType())]
)

#: What "whitespace" around an id, a page or a number means: ASCII and Unicode spaces,
#: the byte-order mark and the zero-width space (exports from spreadsheets carry them).
WHITESPACE = " \t\n\r\f\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
# The largest magnitude below which a double holds every integer exactly.
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


def strip_whitespace(text: Column) -> Column:
    """``text`` without :data:`WHITESPACE` at either end (Spark's ``trim`` knows spaces only).

    The trim costs about an eighth of data_processing's CPU (docs/operations.md), but a
    cheaper form that trims only texts starting or ending with whitespace repeats ``text``
    four times in the expression: planning and compiling the rules on a log with bad lines
    then took three times as long and ran a test JVM out of memory. Keep it one call.
    """
    return F.btrim(text, F.lit(WHITESPACE))


def _json_reading(lines: DataFrame) -> DataFrame:
    """Adds ``first_value`` (a struct of the text fields: the raw fields but the typed
    ones), ``<field>_typed`` and ``<field>_raw_text`` for each typed field (one of the two
    is null), ``json_status`` and ``line_is_blank``.

    ``json_status``: "one" object, "several" values (``{...}, {...}``), "trailing" text
    after a first object that reads (``{...}{...}``, ``{...} fragment``), or "malformed".
    A line is first read with the typed schema; only when that reading fails (a number in
    another dialect, a line that is not exactly one object) is it parsed again as text,
    which every later rule then reads.
    """
    # A byte-order mark opens the first line of files saved by some editors: not data
    # (a prefix test: a regular expression would try every position of the line).
    line = F.col("line")
    json_line = F.when(line.startswith("\ufeff"), F.substr(line, F.lit(2))).otherwise(
        line
    )
    # An expression, not a column: a column would be one more copy of every line in each
    # row that Spark materialises between the readings (the JSON readings are evaluated
    # outside whole-stage code generation, row by row).
    wrapped_line = F.concat(F.lit(_WRAPPER_OPEN), json_line, F.lit(_WRAPPER_CLOSE))

    def read_to_the_end(parsed: str) -> Column:
        return F.coalesce(
            F.col(parsed)[_CORRUPT].isNull()
            & (F.col(parsed)[_END_FIELD] == 1)
            & ~json_line.contains(_END_FIELD),
            F.lit(False),
        )

    typed = lines.withColumn(
        "typed",
        F.from_json(wrapped_line, _wrapped_schema(_EVENT_TYPED_SCHEMA), _PERMISSIVE),
    )
    typed_value = F.get(F.col("typed")["values"], 0)
    typed_one = typed.withColumn(
        "typed_one",
        F.coalesce(
            read_to_the_end("typed")
            & (F.size(F.col("typed")["values"]) == 1)
            & typed_value.isNotNull(),
            F.lit(False),
        ),
    )
    # The text reading, for the lines the typed one could not read (null for the others).
    read = typed_one.withColumn(
        "text",
        F.when(
            ~F.col("typed_one"),
            F.from_json(wrapped_line, _wrapped_schema(_EVENT_TEXT_SCHEMA), _PERMISSIVE),
        ),
    )
    # Does a first object read on its own? Asked only of a line that the text reading
    # did not read to its end (rare).
    direct = F.from_json(json_line, _DIRECT_SCHEMA, _PERMISSIVE)
    values = F.col("text")["values"]
    text_value = F.get(values, 0)  # null for a blank line's empty array
    text_read_to_the_end = read_to_the_end("text")
    status = (
        F.when(F.col("typed_one"), F.lit("one"))
        .when(text_read_to_the_end & (F.size(values) > 1), F.lit("several"))
        .when(text_read_to_the_end & text_value.isNotNull(), F.lit("one"))
        .when(text_read_to_the_end, F.lit("malformed"))  # the line `null`
        .when(direct.isNotNull() & direct[_CORRUPT].isNull(), F.lit("trailing"))
        .otherwise(F.lit("malformed"))
    )
    typed_value = F.when(F.col("typed_one"), typed_value)
    first_value = F.struct(
        *[
            F.coalesce(typed_value[name], text_value[name]).alias(name)
            for name in _TEXT_FIELDS
        ]
    )
    return read.select(
        "line",
        "source_file",
        first_value.alias("first_value"),
        *[typed_value[name].alias(f"{name}_typed") for name in _TYPED_FIELDS],
        *[text_value[name].alias(f"{name}_raw_text") for name in _TYPED_FIELDS],
        status.alias("json_status"),
        # Only a line that gave no first value can be blank: the whole line is trimmed (a
        # copy of it) for those few lines alone.
        (
            ~F.col("typed_one")
            & text_value.isNull()
            & (strip_whitespace(F.col("line")) == "")
        ).alias("line_is_blank"),
    )


def _texts(lines: DataFrame) -> DataFrame:
    """Adds ``<field>_text``, the field without whitespace around it, for the fields that
    are typed or compared (ids, pages, numbers); other text stays verbatim. A typed field's
    text is null when the typed reading read the line."""
    return lines.withColumns(
        {
            **{
                f"{name}_text": strip_whitespace(F.col(f"{name}_raw_text"))
                for name in _TYPED_FIELDS
            },
            **{
                f"{name}_text": strip_whitespace(F.col("first_value")[name])
                for name in ("page", "auth", "userId")
            },
        }
    )


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
    *[(QUARANTINED, f"{bad}_{name}") for name in _TYPED_FIELDS for bad in _PROBLEMS],
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
                + (f" AND {name}_typed IS NULL" if name in _TYPED_FIELDS else ""),
                outcome(QUARANTINED, f"'missing_{name}'"),
            )
            for name in _REQUIRED_FIELDS
        ],
        *[
            (
                f"{name}_problem IS NOT NULL",
                outcome(QUARANTINED, f"concat({name}_problem, '_{name}')"),
            )
            for name in _TYPED_FIELDS
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
    lines = _texts(
        _json_reading(raw_lines.select(F.col("value").alias("line"), "source_file"))
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
        *[F.col(f"{name}_value") for name in _TYPED_FIELDS],
        *[F.col(f"{name}_from_seconds") for name in _TIME_FIELDS],
        F.col("outcome")["record_status"].alias("record_status"),
        F.col("outcome")["reason"].alias("reason"),
    )
