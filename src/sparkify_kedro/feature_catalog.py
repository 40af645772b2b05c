"""What features exist: their names, types, the pages they count and their validation.

The catalogue of ``compute_user_features`` (``sparkify_kedro.features``), shared by training
(``feature_engineering``) and scoring. The groups that select features for a run are
parameters (``conf/base/parameters_feature_engineering.yml``).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import types as T

SONG_PAGE = "NextSong"
PAID = "paid"

#: Experience features counting visits to one page each: feature name -> page.
PAGE_COUNT_FEATURES: dict[str, str] = {
    "thumbs_up": "Thumbs Up",
    "thumbs_down": "Thumbs Down",
    "adverts": "Roll Advert",
    "errors": "Error",
    "help_visits": "Help",
    "settings_visits": "Settings",
    "save_settings": "Save Settings",
    "upgrade_visits": "Upgrade",
    "downgrade_visits": "Downgrade",
    "add_to_playlist": "Add to Playlist",
    "add_friend": "Add Friend",
    "logouts": "Logout",
}

#: Pages whose visits warn of trouble: settings, the downgrade page, help and errors
#: (``warning_visits``). In the Sparkify log, Cancel is reached from Settings and Downgrade.
WARNING_PAGES: tuple[str, ...] = ("Settings", "Downgrade", "Help", "Error")
#: Pages of approval, the positive side of ``discontent``; its negative side is Thumbs
#: Down and the warning pages.
APPROVAL_PAGES: tuple[str, ...] = ("Thumbs Up", "Add to Playlist")
#: Per-song counts whose recent rate and change are trend features: name -> pages.
TREND_RATE_COUNTS: dict[str, tuple[str, ...]] = {
    "thumbs_down": ("Thumbs Down",),
    "thumbs_up": ("Thumbs Up",),
    "warning_visits": WARNING_PAGES,
}

#: The pages that switch a user's level; the next event carries the new level.
LEVEL_CHANGE_PAGES: tuple[str, ...] = ("Submit Upgrade", "Submit Downgrade")

_DOUBLE, _LONG, _STRING = T.DoubleType(), T.LongType(), T.StringType()

#: Every feature this module can compute, with its type (the columns of ``user_features``
#: after ``user_id`` and ``cutoff`` are the ones named in ``feature_groups``).
FEATURE_TYPES: dict[str, T.DataType] = {
    # engagement
    "events": _LONG,
    "sessions": _LONG,
    "songs": _LONG,
    "distinct_artists": _LONG,
    "listening_hours": _DOUBLE,
    "songs_per_session": _DOUBLE,
    "mean_session_minutes": _DOUBLE,
    "active_days": _LONG,
    "events_per_active_day": _DOUBLE,
    "days_since_last_event": _DOUBLE,
    "tenure_days": _DOUBLE,
    # experience
    **dict.fromkeys(PAGE_COUNT_FEATURES, _LONG),
    "thumbs_up_per_song": _DOUBLE,
    "thumbs_down_per_song": _DOUBLE,
    "adverts_per_song": _DOUBLE,
    "warning_visits": _LONG,
    "discontent": _DOUBLE,
    # level
    "level_at_cutoff": _STRING,
    "paid_event_share": _DOUBLE,
    "level_changes": _LONG,
    # trend
    "songs_per_day_recent": _DOUBLE,
    "songs_per_day_earlier": _DOUBLE,
    "songs_per_day_change": _DOUBLE,
    "sessions_per_day_recent": _DOUBLE,
    "sessions_per_day_earlier": _DOUBLE,
    "sessions_per_day_change": _DOUBLE,
    "thumbs_down_per_song_recent": _DOUBLE,
    "thumbs_down_per_song_change": _DOUBLE,
    "thumbs_up_per_song_recent": _DOUBLE,
    "thumbs_up_per_song_change": _DOUBLE,
    "warning_visits_per_song_recent": _DOUBLE,
    "warning_visits_per_song_change": _DOUBLE,
    "discontent_recent": _DOUBLE,
    "discontent_change": _DOUBLE,
    "last_session_gap_days": _DOUBLE,
    # profile
    "platform": _STRING,
    "browser": _STRING,
    "gender": _STRING,
    "state": _STRING,
}

#: (label, regex on userAgent), the first match wins; "other" when none does.
PLATFORM_PATTERNS: tuple[tuple[str, str], ...] = (
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("Mac", r"Macintosh|Mac OS X"),
    ("Linux", r"Linux|X11"),
)
BROWSER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("Edge", r"Edge?/"),
    ("Internet Explorer", r"MSIE|Trident/"),
    ("Firefox", r"Firefox/"),
    ("Chrome", r"Chrome/|CriOS/"),
    ("Safari", r"Safari/|AppleWebKit"),
)


def selected_features(params: dict[str, Any]) -> list[str]:
    """The feature columns named in ``params["feature_groups"]``, in group order.

    Raises ``ValueError`` when a name is unknown or listed twice, or when
    ``categorical_features`` is not exactly the selected string-valued features.
    """
    names = [name for group in params["feature_groups"].values() for name in group]
    unknown = sorted(set(names) - set(FEATURE_TYPES))
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if unknown or duplicated:
        raise ValueError(
            f"feature_groups: unknown features {unknown}, listed twice {duplicated}."
        )
    strings = {name for name in names if FEATURE_TYPES[name] == _STRING}
    if set(params["categorical_features"]) != strings:
        raise ValueError(
            f"categorical_features must be the string-valued features {sorted(strings)}."
        )
    return names
