"""The Sparkify event log's vocabulary, shared by every pipeline.

One place for what the raw log looks like (eventsim's 18 fields, in eventsim's order), the
22 pages it knows, and the typed columns of ``clean_events`` that every later pipeline reads.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import types as T

#: The raw log's fields, in the order eventsim writes them, with the JSON type of each.
RAW_FIELDS: tuple[tuple[str, str], ...] = (
    ("ts", "long"),
    ("userId", "string"),
    ("sessionId", "long"),
    ("page", "string"),
    ("auth", "string"),
    ("method", "string"),
    ("status", "long"),
    ("level", "string"),
    ("itemInSession", "long"),
    ("location", "string"),
    ("userAgent", "string"),
    ("lastName", "string"),
    ("firstName", "string"),
    ("registration", "long"),
    ("gender", "string"),
    ("artist", "string"),
    ("song", "string"),
    ("length", "double"),
)
RAW_FIELD_NAMES: tuple[str, ...] = tuple(name for name, _ in RAW_FIELDS)

#: The JSON schema of one raw line as the log declares it (see the dataset reference).
RAW_EVENT_SCHEMA = T.StructType(
    [
        T.StructField(
            name,
            {"long": T.LongType(), "string": T.StringType(), "double": T.DoubleType()}[
                kind
            ],
        )
        for name, kind in RAW_FIELDS
    ]
)

#: The 22 pages of the Sparkify log. A page outside this set is kept but flagged.
KNOWN_PAGES: frozenset[str] = frozenset(
    {
        "About",
        "Add Friend",
        "Add to Playlist",
        "Cancel",
        "Cancellation Confirmation",
        "Downgrade",
        "Error",
        "Help",
        "Home",
        "Login",
        "Logout",
        "NextSong",
        "Register",
        "Roll Advert",
        "Save Settings",
        "Settings",
        "Submit Downgrade",
        "Submit Registration",
        "Submit Upgrade",
        "Thumbs Down",
        "Thumbs Up",
        "Upgrade",
    }
)

#: ``auth`` values of rows that belong to nobody (no user is logged in).
ANONYMOUS_AUTH: frozenset[str] = frozenset({"Logged Out", "Guest"})

#: Text fields that may carry double-encoded UTF-8 and are repaired.
TEXT_FIELDS_TO_REPAIR: tuple[str, ...] = (
    "artist",
    "song",
    "first_name",
    "last_name",
    "location",
)

#: ``clean_events``: one row per distinct logged-in event, typed, snake_case.
CLEAN_EVENT_SCHEMA = T.StructType(
    [
        T.StructField("ts", T.TimestampType()),
        T.StructField("user_id", T.StringType()),
        T.StructField("session_id", T.LongType()),
        T.StructField("page", T.StringType()),
        T.StructField("auth", T.StringType()),
        T.StructField("method", T.StringType()),
        T.StructField("status", T.IntegerType()),
        T.StructField("level", T.StringType()),
        T.StructField("item_in_session", T.LongType()),
        T.StructField("location", T.StringType()),
        T.StructField("user_agent", T.StringType()),
        T.StructField("last_name", T.StringType()),
        T.StructField("first_name", T.StringType()),
        T.StructField("registration", T.TimestampType()),
        T.StructField("gender", T.StringType()),
        T.StructField("artist", T.StringType()),
        T.StructField("song", T.StringType()),
        T.StructField("length", T.DoubleType()),
        T.StructField("is_known_page", T.BooleanType()),
        T.StructField("event_date", T.DateType()),
    ]
)
CLEAN_EVENT_COLUMNS: tuple[str, ...] = tuple(CLEAN_EVENT_SCHEMA.fieldNames())

#: Raw field name -> clean column name (``CLEAN_EVENT_SCHEMA`` lists the raw fields first,
#: in the raw order).
RAW_TO_CLEAN_NAME: dict[str, str] = dict(
    zip(RAW_FIELD_NAMES, CLEAN_EVENT_COLUMNS[: len(RAW_FIELD_NAMES)], strict=True)
)


def churn_pages(params: dict[str, Any]) -> list[str]:
    """The pages that count as churn: the ``churn_definitions`` entry named by
    ``churn_definition``. Raises ``ValueError`` for an unknown name or page."""
    name = params["churn_definition"]
    definitions = params["churn_definitions"]
    if name not in definitions:
        raise ValueError(
            f"Unknown churn_definition {name!r}; choose one of {sorted(definitions)}."
        )
    pages = list(definitions[name])
    unknown = sorted(set(pages) - KNOWN_PAGES)
    if not pages or unknown:
        raise ValueError(
            f"churn definition {name!r} must list known pages; unknown: {unknown or pages}."
        )
    return pages
