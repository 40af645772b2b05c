"""How a raw line is parsed: wrapped in a JSON array, first with the numeric fields typed
by the parser (the *typed reading*), then, for the lines that reading refuses, with every
field as text (the *text reading*); ``line_rules.py`` then types and judges the values.
Spark column expressions, no Spark action.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkify_kedro.events import RAW_FIELD_NAMES

# The fields typed as numbers, and how the typed reading's parser reads them: a long
# accepts a JSON integer token only (no float, no string), a double any JSON number.
TYPED_FIELD_TYPES: dict[str, T.DataType] = {
    "ts": T.LongType(),
    "sessionId": T.LongType(),
    "status": T.LongType(),
    "itemInSession": T.LongType(),
    "registration": T.LongType(),
    "length": T.DoubleType(),
}
TYPED_FIELDS = tuple(TYPED_FIELD_TYPES)
_TEXT_FIELDS = tuple(name for name in RAW_FIELD_NAMES if name not in TYPED_FIELD_TYPES)
_EVENT_TEXT_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in RAW_FIELD_NAMES]
)
_EVENT_TYPED_SCHEMA = T.StructType(
    [
        T.StructField(name, TYPED_FIELD_TYPES.get(name, T.StringType()))
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


def strip_whitespace(text: Column) -> Column:
    """``text`` without :data:`WHITESPACE` at either end (Spark's ``trim`` knows spaces only).

    The trim costs about an eighth of data_processing's CPU (docs/performance-log.md), but a
    cheaper form that trims only texts starting or ending with whitespace repeats ``text``
    four times in the expression: planning and compiling the rules on a log with bad lines
    then took three times as long and ran a test JVM out of memory. Keep it one call.
    """
    return F.btrim(text, F.lit(WHITESPACE))


def json_reading(lines: DataFrame) -> DataFrame:
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
        *[typed_value[name].alias(f"{name}_typed") for name in TYPED_FIELDS],
        *[text_value[name].alias(f"{name}_raw_text") for name in TYPED_FIELDS],
        status.alias("json_status"),
        # Only a line that gave no first value can be blank: the whole line is trimmed (a
        # copy of it) for those few lines alone.
        (
            ~F.col("typed_one")
            & text_value.isNull()
            & (strip_whitespace(F.col("line")) == "")
        ).alias("line_is_blank"),
    )


def field_texts(lines: DataFrame) -> DataFrame:
    """Adds ``<field>_text``, the field without whitespace around it, for the fields that
    are typed or compared (ids, pages, numbers); other text stays verbatim. A typed field's
    text is null when the typed reading read the line."""
    return lines.withColumns(
        {
            **{
                f"{name}_text": strip_whitespace(F.col(f"{name}_raw_text"))
                for name in TYPED_FIELDS
            },
            **{
                f"{name}_text": strip_whitespace(F.col("first_value")[name])
                for name in ("page", "auth", "userId")
            },
        }
    )
