"""Time units, page tables and random draws shared by the simulator's parts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml

#: Names, places, browsers and the words of artists and titles (``vocabulary.yml``).
VOCABULARY: dict[str, list[str]] = yaml.safe_load(
    Path(__file__).with_name("vocabulary.yml").read_text(encoding="utf-8")
)

DAY = 86_400
WEEK = 7 * DAY

LOGGED_IN, LOGGED_OUT, GUEST, CANCELLED = (
    "Logged In",
    "Logged Out",
    "Guest",
    "Cancelled",
)
NEXT_SONG = "NextSong"
CANCEL, CONFIRMATION = "Cancel", "Cancellation Confirmation"
#: The only pages from which Cancel can be reached.
CANCEL_GATEWAYS: tuple[str, ...] = (
    "Roll Advert",
    "Thumbs Down",
    "Settings",
    "Downgrade",
)

#: The page that may follow each page by chance (see ``UserStream.offers``).
OFFERED: dict[str, str] = {
    "Downgrade": "Submit Downgrade",
    "Upgrade": "Submit Upgrade",
    "Settings": "Save Settings",
}

#: HTTP method and status of each page, as in the real log.
PAGE_HTTP: dict[str, tuple[str, int]] = {
    "NextSong": ("PUT", 200),
    "Add to Playlist": ("PUT", 200),
    "Thumbs Up": ("PUT", 307),
    "Thumbs Down": ("PUT", 307),
    "Add Friend": ("PUT", 307),
    "Login": ("PUT", 307),
    "Logout": ("PUT", 307),
    "Save Settings": ("PUT", 307),
    "Submit Upgrade": ("PUT", 307),
    "Submit Downgrade": ("PUT", 307),
    "Submit Registration": ("PUT", 307),
    "Cancel": ("PUT", 307),
    "Home": ("GET", 200),
    "About": ("GET", 200),
    "Help": ("GET", 200),
    "Settings": ("GET", 200),
    "Upgrade": ("GET", 200),
    "Downgrade": ("GET", 200),
    "Roll Advert": ("GET", 200),
    "Register": ("GET", 200),
    "Cancellation Confirmation": ("GET", 200),
    "Error": ("GET", 404),
}

NULL_USER = (
    '"location":null,"userAgent":null,"lastName":null,"firstName":null,'
    '"registration":null,"gender":null'
)
NULL_SONG = '"artist":null,"song":null,"length":null'
NO_USER_ID = '"userId":""'
BLOCK = 4096


def epoch_seconds(day: str) -> int:
    """``"2018-10-01"`` -> seconds since the epoch at 00:00 UTC that day."""
    parsed = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def double_encode(text: str) -> str:
    """UTF-8 text decoded as Latin-1 twice over (``Björk`` -> ``BjÃ\\x83Â¶rk``)."""
    for _ in range(2):
        text = text.encode("utf-8").decode("latin-1")
    return text


def uniforms(rng: np.random.Generator) -> Iterator[float]:
    """An endless stream of uniform floats in [0, 1), drawn in blocks for speed."""
    while True:
        yield from rng.random(BLOCK).tolist()


def draw(cumulative: list[float], pages: list[str], u: float) -> str:
    """The page whose cumulative-probability interval holds ``u``."""
    for index, bound in enumerate(cumulative):
        if u < bound:
            return pages[index]
    return pages[-1]


def transition_table(weights: dict[str, float]) -> tuple[list[float], list[str]]:
    """Normalised cumulative probabilities and their pages, from unnormalised weights."""
    pages = [page for page, weight in weights.items() if weight > 0]
    total = sum(weights[page] for page in pages)
    cumulative, running = [], 0.0
    for page in pages:
        running += weights[page] / total
        cumulative.append(running)
    return cumulative, pages
