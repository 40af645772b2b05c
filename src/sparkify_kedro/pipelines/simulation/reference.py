"""Published figures of the mini Sparkify log that the simulator is calibrated to.

From ``shared/reference/sparkify-dataset.md``: 225 users, 2018-10-01 to 2018-12-03.
"""

from __future__ import annotations

MINI_USERS = 225
MINI_ROWS = 286_500
MINI_ROWS_WITHOUT_USER = 8_346
MINI_CANCELLING_USERS = 52
MINI_DOWNGRADING_USERS = 49
MINI_SONGS_PER_SESSION = {"free": 31.0, "paid": 103.0}
MINI_SONGS_PER_USER = {"cancelled": 700.0, "other": 1_108.0}
MINI_SESSIONS_PER_USER = {"cancelled": 10.3, "other": 24.5}

#: Rows per page in the mini file (all rows, logged out and guest included).
MINI_PAGE_COUNTS: dict[str, int] = {
    "NextSong": 228_108,
    "Home": 14_457,
    "Thumbs Up": 12_551,
    "Add to Playlist": 6_526,
    "Add Friend": 4_277,
    "Roll Advert": 3_933,
    "Login": 3_241,
    "Logout": 3_226,
    "Thumbs Down": 2_546,
    "Downgrade": 2_055,
    "Help": 1_726,
    "Settings": 1_514,
    "About": 924,
    "Upgrade": 499,
    "Save Settings": 310,
    "Error": 258,
    "Submit Upgrade": 159,
    "Submit Downgrade": 63,
    "Cancel": 52,
    "Cancellation Confirmation": 52,
    "Register": 18,
    "Submit Registration": 5,
}

#: Tolerances of the calibration checks.
ROWS_TOLERANCE = 0.10  # relative
ROWS_WITHOUT_USER_TOLERANCE = 0.006  # absolute, on the share of rows (2.9 % published)
CHURN_USERS_TOLERANCE = 12  # users, at 225 users; scaled with the number of users
PAGE_SHARE_MIN = 0.01  # pages with at least this share are checked ...
PAGE_SHARE_TOLERANCE = 0.25  # ... within this relative tolerance
SONG_RATIO_TOLERANCE = 0.25  # paid / free songs per session, relative
