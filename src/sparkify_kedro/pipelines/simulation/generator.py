"""A pure-Python, eventsim-like generator of one Sparkify user's event stream.

Everything here is plain Python and numpy, with no Spark: the pipeline calls
``UserSimulator.user_lines`` once per user inside Spark tasks. A user's stream depends only on
``(seed, user id)`` and the parameters, never on which task or machine generates it.

The behavioural model
---------------------
*Users.* Each user draws a profile from ``numpy.random.default_rng([seed, user, 0])``: gender,
name, location, browser, registration time, starting level, and latent traits:

- ``engagement`` (log-normal): longer sessions, shorter gaps between sessions;
- ``satisfaction`` (normal) with a weekly ``satisfaction_trend`` (normal, slightly negative on
  average): how the user feels about the service, drifting over the period;
- ``decline_start`` and ``decline_rate``: a share of users (``decline_share``) fall out of
  love with the service from a random moment (from a few weeks before the period to its
  end), their satisfaction then dropping by ``decline_rate`` per week (log-normal);
- ``ad_tolerance`` (normal): how much each advert hurts satisfaction and pushes to cancel;
- ``price_sensitivity`` (normal): upgrades less and downgrades more;
- ``session_gap_days`` (log-normal around ``sessions.mean_gap_days``): eventsim's beta.

*Time.* Sessions arrive as a Poisson process thinned by a daily (hour-of-day) and weekly
(weekend) rhythm. Inside a session a song lasts its length; any other page is followed
after an exponential pause, redirects (HTTP 307) follow one second after the page before.

*Pages.* The next page is drawn from a transition table that depends on the current page,
the level (free / paid) and the auth state (logged in / logged out / guest). From NextSong
the table is ``pages.free`` or ``pages.paid``; from other pages the user goes back to music
with probability ``return_to_music`` and otherwise draws from the same table. Settings may
lead to Save Settings, Upgrade to Submit Upgrade (then level paid), Downgrade to Submit
Downgrade (then level free), Logout to logged-out pages (Home, About, Help, Error) until
Login. A session ends by chance after any free choice (more often for free users).

*Satisfaction drives churn.* At each session the current satisfaction is
``satisfaction + trend * weeks - decline_rate * weeks since decline_start - ad penalty
+ mood walk``: the ad penalty grows with every
advert seen (more for users with low ad tolerance), the mood walk is a mean-reverting random
walk stepped at each session (bad spells that come and go). Low satisfaction raises the weights of
Thumbs Down, Settings, Downgrade and Help, lowers Thumbs Up and Add to Playlist, shortens
sessions and lengthens the gaps between them. Cancel is reachable only from Roll Advert,
Thumbs Down, Settings and Downgrade, with a probability that grows exponentially as
satisfaction falls (and, from Roll Advert, as ad tolerance falls); it is always followed
by Cancellation Confirmation (auth Cancelled) after a page pause, the user's last event.
Submit Downgrade follows Downgrade with a probability that grows as satisfaction falls and
price sensitivity rises. So users heading for churn see more adverts, give more thumbs
down, visit Settings and Downgrade more and come back less, in the weeks before they churn.

*The ceiling.* ``UserSimulator.ceiling_run`` / ``churn_probabilities`` replay a user's
stream (the same draws, so the same events) and, at each watched cutoff, draw futures from
the stream's whole state there with their own generators: the simulator's own probability
that the user churns within a horizon, the best any model could predict.

*Anonymous rows.* Logged-out rows (after Logout, until Login) and a few guest sessions
(Home, Help, About, Register, Submit Registration, Error) carry ``userId ""``, the session's
id and level, and null user fields.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import numpy as np

from sparkify_kedro.pipelines.simulation import vocabulary as vocab

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

#: The page that may follow each page by chance (see ``_UserStream.offers``).
_OFFERED: dict[str, str] = {
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

_NULL_USER = (
    '"location":null,"userAgent":null,"lastName":null,"firstName":null,'
    '"registration":null,"gender":null'
)
_NULL_SONG = '"artist":null,"song":null,"length":null'
_NO_USER_ID = '"userId":""'
_BLOCK = 4096


def epoch_seconds(day: str) -> int:
    """``"2018-10-01"`` -> seconds since the epoch at 00:00 UTC that day."""
    parsed = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def double_encode(text: str) -> str:
    """UTF-8 text decoded as Latin-1 twice over (``Björk`` -> ``BjÃ\\x83Â¶rk``)."""
    for _ in range(2):
        text = text.encode("utf-8").decode("latin-1")
    return text


def _uniforms(rng: np.random.Generator) -> Iterator[float]:
    """An endless stream of uniform floats in [0, 1), drawn in blocks for speed."""
    while True:
        yield from rng.random(_BLOCK).tolist()


def _draw(cumulative: list[float], pages: list[str], u: float) -> str:
    """The page whose cumulative-probability interval holds ``u``."""
    for index, bound in enumerate(cumulative):
        if u < bound:
            return pages[index]
    return pages[-1]


def _table(weights: dict[str, float]) -> tuple[list[float], list[str]]:
    """Normalised cumulative probabilities and their pages, from unnormalised weights."""
    pages = [page for page, weight in weights.items() if weight > 0]
    total = sum(weights[page] for page in pages)
    cumulative, running = [], 0.0
    for page in pages:
        running += weights[page] / total
        cumulative.append(running)
    return cumulative, pages


@dataclass(frozen=True)
class Catalogue:
    """Songs as ready-made JSON fragments, their lengths and cumulative popularity."""

    fragments: tuple[str, ...]
    lengths: tuple[float, ...]
    cumulative_popularity: np.ndarray


@dataclass(frozen=True)
class CatalogueSpec:
    """The parameters of the song catalogue (``simulation.catalogue``) and the seed."""

    seed: int
    n_artists: int
    n_songs: int
    popularity_exponent: float
    length_log_mean: float
    length_log_sd: float
    double_encoded_share: float


@lru_cache(maxsize=4)
def build_catalogue(spec: CatalogueSpec) -> Catalogue:
    """A deterministic song catalogue: artist and title made from word lists, log-normal
    lengths (0.78 s to 3,024.7 s), Zipf-like popularity. Built once per Python worker."""
    rng = np.random.default_rng([spec.seed, 7_001])
    n_artists, n_songs = spec.n_artists, spec.n_songs
    words, nouns = vocab.NAME_WORDS, vocab.NOUN_WORDS
    firsts = vocab.MALE_FIRST_NAMES + vocab.FEMALE_FIRST_NAMES
    styles = rng.integers(0, 4, n_artists)
    a, b = rng.integers(0, 10**6, n_artists), rng.integers(0, 10**6, n_artists)
    artists = []
    for style, i, j in zip(styles.tolist(), a.tolist(), b.tolist(), strict=True):
        if style == 0:
            artists.append(f"The {words[i % len(words)]} {nouns[j % len(nouns)]}s")
        elif style == 1:
            artists.append(
                f"{firsts[i % len(firsts)]} {vocab.LAST_NAMES[j % len(vocab.LAST_NAMES)]}"
            )
        elif style == 2:
            artists.append(f"{words[i % len(words)]} {nouns[j % len(nouns)]}")
        else:
            artists.append(f"{nouns[i % len(nouns)]} & the {words[j % len(words)]}s")
    accented = rng.choice(n_artists, len(vocab.ACCENTED_ARTISTS), replace=False)
    for index, name in zip(accented.tolist(), vocab.ACCENTED_ARTISTS, strict=True):
        artists[index] = name

    artist_of_song = rng.integers(0, n_artists, n_songs).tolist()
    t1 = rng.integers(0, 10**6, n_songs).tolist()
    t2 = rng.integers(0, 10**6, n_songs).tolist()
    title_styles = rng.integers(0, 3, n_songs).tolist()
    garbled = (rng.random(n_songs) < spec.double_encoded_share).tolist()
    lengths = np.clip(
        rng.lognormal(spec.length_log_mean, spec.length_log_sd, n_songs), 0.78, 3024.7
    )
    lengths = np.round(lengths, 5).tolist()
    fragments = []
    for k in range(n_songs):
        i, j = t1[k], t2[k]
        if title_styles[k] == 0:
            title = f"{words[i % len(words)]} {nouns[j % len(nouns)]}"
        elif title_styles[k] == 1:
            title = nouns[i % len(nouns)]
        else:
            title = f"{nouns[i % len(nouns)]} of the {words[j % len(words)]} {nouns[(i + j) % len(nouns)]}"
        artist = artists[artist_of_song[k]]
        if garbled[k] and not artist.isascii():
            artist = double_encode(artist)
        fragments.append(
            f'"artist":{json.dumps(artist, ensure_ascii=False)},'
            f'"song":{json.dumps(title, ensure_ascii=False)},"length":{lengths[k]!r}'
        )
    weights = 1.0 / np.arange(1, n_songs + 1) ** spec.popularity_exponent
    popularity = np.cumsum(weights[rng.permutation(n_songs)])
    return Catalogue(tuple(fragments), tuple(lengths), popularity / popularity[-1])


@dataclass(frozen=True)
class UserProfile:
    """Who a user is and the latent traits that drive their behaviour."""

    user_id: int
    gender: str
    first_name: str
    last_name: str
    location: str
    user_agent: str
    registration_ms: int
    start_level: str
    engagement: float
    satisfaction: float
    satisfaction_trend: float
    decline_start: float
    decline_rate: float
    ad_tolerance: float
    price_sensitivity: float
    session_gap_days: float

    def user_fields(self) -> str:
        """The user's six JSON fields (location ... gender), as they appear on each row."""
        agent = f'"{self.user_agent}"' if "," in self.user_agent else self.user_agent
        return (
            f'"location":{json.dumps(self.location, ensure_ascii=False)},'
            f'"userAgent":{json.dumps(agent)},'
            f'"lastName":{json.dumps(self.last_name, ensure_ascii=False)},'
            f'"firstName":{json.dumps(self.first_name, ensure_ascii=False)},'
            f'"registration":{self.registration_ms},"gender":"{self.gender}"'
        )


def _skewed_index(rng: np.random.Generator, n: int, exponent: float = 1.0) -> int:
    """An index in [0, n) where small indices are more likely (Zipf-like)."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return int(np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random()))


def draw_user_profile(params: dict[str, Any], user_id: int) -> UserProfile:
    """The profile of one user, drawn from ``default_rng([seed, user_id, 0])``."""
    rng = np.random.default_rng([params["seed"], user_id, 0])
    users, traits = params["users"], params["traits"]
    start, end = epoch_seconds(params["start"]), epoch_seconds(params["end"])
    lead = traits["decline_lead_weeks"] * WEEK
    gender = "M" if rng.random() < users["male_share"] else "F"
    firsts = vocab.MALE_FIRST_NAMES if gender == "M" else vocab.FEMALE_FIRST_NAMES
    first_name = firsts[int(rng.integers(len(firsts)))]
    last_name = vocab.LAST_NAMES[int(rng.integers(len(vocab.LAST_NAMES)))]
    location = vocab.LOCATIONS[_skewed_index(rng, len(vocab.LOCATIONS), 0.8)]
    user_agent = vocab.USER_AGENTS[_skewed_index(rng, len(vocab.USER_AGENTS), 1.0)]
    if rng.random() < users["registered_in_period_share"]:
        latest = end - users["registration_last_days_before_end"] * DAY
        registration = start + rng.random() * (latest - start)
    else:
        registration = (
            start - rng.random() * users["registration_max_days_before"] * DAY
        )
    return UserProfile(
        user_id=user_id,
        gender=gender,
        first_name=first_name,
        last_name=last_name,
        location=location,
        user_agent=user_agent,
        registration_ms=int(registration * 1000),
        start_level="paid" if rng.random() < users["paid_share"] else "free",
        engagement=float(rng.lognormal(0.0, traits["engagement_sd"])),
        satisfaction=float(
            rng.normal(traits["satisfaction_mean"], traits["satisfaction_sd"])
        ),
        satisfaction_trend=float(rng.normal(traits["trend_mean"], traits["trend_sd"])),
        decline_start=float(
            start + (rng.random() * (end - start + lead) - lead)
            if rng.random() < traits["decline_share"]
            else math.inf
        ),
        decline_rate=float(rng.lognormal(math.log(traits["decline_rate"]), 0.4)),
        ad_tolerance=float(rng.normal(0.0, 1.0)),
        price_sensitivity=float(rng.normal(0.0, 1.0)),
        session_gap_days=float(
            params["sessions"]["mean_gap_days"]
            * rng.lognormal(0.0, params["sessions"]["gap_sd"])
        ),
    )


@dataclass(frozen=True)
class SessionRates:
    """A user's page-transition tables and chances for one session, level and mood."""

    from_song: tuple[list[float], list[str]]
    from_other: tuple[list[float], list[str]]
    end: float
    cancel: dict[str, float]
    submit_downgrade: float
    submit_upgrade: float


@dataclass(frozen=True)
class CeilingRun:
    """What ``UserSimulator.ceiling_run`` found: the user's lines (if recorded); per cutoff
    the churn probability and its Monte-Carlo standard error (the futures' standard
    deviation over the square root of their number; NaN with one future); and, if recorded,
    the lines of every future of every cutoff (a future's lines stop at its end)."""

    lines: list[str]
    probabilities: list[float]
    standard_errors: list[float]
    futures: list[list[list[str]]]


class UserSimulator:
    """Generates the raw JSON lines of one user at a time (see the module docstring)."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.seed = int(params["seed"])
        self.start = epoch_seconds(params["start"])
        self.end = epoch_seconds(params["end"])
        self.n_users = int(params["n_users"])
        cat = params["catalogue"]
        self.catalogue = build_catalogue(
            CatalogueSpec(
                seed=self.seed,
                n_artists=int(cat["n_artists"]),
                n_songs=int(cat["n_songs"]),
                popularity_exponent=float(cat["popularity_exponent"]),
                length_log_mean=float(cat["length_log_mean"]),
                length_log_sd=float(cat["length_log_sd"]),
                double_encoded_share=float(cat["double_encoded_share"]),
            )
        )
        rhythm = params["rhythm"]
        hours = [float(w) for w in rhythm["hour_weights"]]
        self.hour_acceptance = [w / max(hours) for w in hours]
        self.weekend_acceptance = float(rhythm["weekend_factor"])
        self.mean_acceptance = (
            sum(self.hour_acceptance) / 24 * (5 + 2 * self.weekend_acceptance) / 7
        )
        #: Seconds from a song to the next page: its length rounded, at least one.
        self.song_seconds = [max(1, round(length)) for length in self.catalogue.lengths]
        self.logged_out_table = _table(params["logged_out_pages"])
        self.guest_table = _table(params["guest"]["pages"])
        self.http = {
            page: f'"method":"{method}","status":{status}'
            for page, (method, status) in PAGE_HTTP.items()
        }

    def user_lines(self, user_id: int) -> list[str]:
        """All raw JSON lines of one user (and of their anonymous visits)."""
        return _UserStream(self, draw_user_profile(self.params, user_id)).run()

    def ceiling_run(
        self,
        user_id: int,
        cutoffs: list[int],
        horizon_seconds: int,
        churn_pages: frozenset[str],
        n_futures: int,
        *,
        smooth: bool = True,
        record: bool = False,
    ) -> CeilingRun:
        """Run a user's stream, branching into ``n_futures`` futures at each cutoff.

        The stream is the one of ``user_lines`` (same generator, same draws; the futures
        draw from their own), so its events before a cutoff are the logged ones. At each
        cutoff (epoch seconds, ascending) the futures continue from the stream's full
        state there: inside a session, from the page due next (chosen, with its time,
        before the cutoff); between sessions, with the mood and mean gap of the awaited
        session, its start redrawn after the cutoff (session starts are a thinned Poisson
        process: memoryless). A future ends at its first churn page of the user
        (``churn_pages``) or at ``min(cutoff + horizon_seconds, end)``.

        The probability is the mean of the futures' values: with ``smooth=False`` 1 for a
        future with a churn page in ``[cutoff, cutoff + horizon_seconds)``, else 0; with
        ``smooth=True`` (default) the future's chance of churning along the path it took
        (see ``_Future``): the same expectation, a smaller Monte-Carlo error. The futures of
        a cutoff draw, one after another, from ``default_rng([seed, user_id, 2, cutoff])``:
        the probability of a cutoff does not depend on the other cutoffs asked for, and the
        first k futures are the same for any ``n_futures >= k``. Cutoffs after the user
        cancelled get 0. ``record``: keep the JSON lines of the stream and of every future
        (for tests: slower).
        """
        cutoffs = [int(cutoff) for cutoff in cutoffs]
        if cutoffs != sorted(cutoffs):
            raise ValueError("cutoffs must be in ascending order")
        if n_futures < 1:
            raise ValueError("n_futures must be at least 1")
        watch = _Watch(
            cutoffs=list(cutoffs),
            horizon_seconds=int(horizon_seconds),
            churn_pages=frozenset(churn_pages),
            n_futures=int(n_futures),
            smooth=smooth,
            record_futures=record,
            probabilities={},
            standard_errors={},
            futures={},
        )
        profile = draw_user_profile(self.params, user_id)
        lines = _UserStream(self, profile, record=record, watch=watch).run()
        return CeilingRun(
            lines=lines,
            probabilities=[watch.probabilities.get(cutoff, 0.0) for cutoff in cutoffs],
            standard_errors=[
                watch.standard_errors.get(cutoff, 0.0) for cutoff in cutoffs
            ],
            futures=[watch.futures.get(cutoff, []) for cutoff in cutoffs],
        )

    def churn_probabilities(
        self,
        user_id: int,
        cutoffs: list[int],
        horizon_seconds: int,
        churn_pages: frozenset[str],
        n_futures: int,
        *,
        smooth: bool = True,
    ) -> list[float]:
        """The simulator's own probability that the user churns within the horizon of each
        cutoff, given its whole state at the cutoff (see ``ceiling_run``), one per cutoff."""
        return self.ceiling_run(
            user_id, cutoffs, horizon_seconds, churn_pages, n_futures, smooth=smooth
        ).probabilities

    def rates(self, profile: UserProfile, level: str, unhappy: float) -> SessionRates:
        """Transition tables and chances of a session at ``level`` and unhappiness."""
        p, churn, upgrade = (
            self.params,
            self.params["churn"],
            self.params["submit_upgrade"],
        )
        weights = dict(p["pages"][level])
        for page, strength in p["mood_effects"].items():
            if page in weights:
                weights[page] *= math.exp(strength * unhappy)
        back, total = p["return_to_music"], sum(weights.values())
        other = {page: (1 - back) * w / total for page, w in weights.items()}
        other[NEXT_SONG] = other.get(NEXT_SONG, 0.0) + back
        cancel_boost = math.exp(churn["cancel_unhappiness"] * unhappy)
        ad_boost = math.exp(-churn["cancel_ad_tolerance"] * profile.ad_tolerance)
        return SessionRates(
            from_song=_table(weights),
            from_other=_table(other),
            end=p["session_end"][level]
            * math.exp(p["sessions"]["end_unhappiness"] * unhappy),
            cancel={
                page: min(
                    0.5,
                    churn["cancel"][page]
                    * cancel_boost
                    * (ad_boost if page == "Roll Advert" else 1.0),
                )
                for page in CANCEL_GATEWAYS
            },
            submit_downgrade=min(
                0.9,
                churn["submit_downgrade"]
                * math.exp(
                    churn["downgrade_unhappiness"] * unhappy
                    + churn["downgrade_price"] * profile.price_sensitivity
                ),
            ),
            submit_upgrade=min(
                0.9,
                upgrade["base"]
                * math.exp(
                    -upgrade["mood"] * unhappy
                    - upgrade["price"] * profile.price_sensitivity
                ),
            ),
        )

    def acceptance(self, t: float) -> float:
        """Relative chance a session starts at time ``t`` (daily and weekly rhythm)."""
        weekday = int((t // DAY + 3) % 7)  # 1970-01-01 was a Thursday; 0 = Monday
        weekend = self.weekend_acceptance if weekday >= 5 else 1.0
        return self.hour_acceptance[int(t % DAY // 3600)] * weekend

    def session_id(self, t: float, previous: int, u: float) -> int:
        """A session id that grows with time, so other users' sessions share it."""
        ids = self.params["session_ids"]
        span = self.n_users * ids["per_user"]
        base = 1 + int((t - self.start) / (self.end - self.start) * span)
        return max(base + int(u * ids["jitter"]), previous + 1)


class _FutureOver(Exception):
    """Raised inside a future when it ends: at its first churn page or at its horizon."""

    def __init__(self, churned: bool) -> None:
        super().__init__(churned)
        self.churned = churned


@dataclass
class _Watch:
    """The cutoffs a stream is watching and what it found at each (see ``ceiling_run``)."""

    cutoffs: list[int]
    horizon_seconds: int
    churn_pages: frozenset[str]
    n_futures: int
    smooth: bool
    record_futures: bool
    probabilities: dict[int, float]
    standard_errors: dict[int, float]
    futures: dict[int, list[list[str]]]


class _UserStream:
    """One user's stream while it is generated: the clock, the session and the state.

    The generation is split into resumable pieces so that a copy of the stream (a
    ``_Future``) can continue it from any point: ``sessions`` (the loop of sessions from a
    time, the loop state ``first`` / ``guest_pending`` kept on the stream), ``session``
    (the prologue of a session) and ``pages`` (the pages of a session from a given page).
    With a ``_Watch``, the stream branches into futures when its clock reaches each
    cutoff, without drawing anything from its own generator: the logged stream is the same.
    """

    def __init__(
        self,
        sim: UserSimulator,
        profile: UserProfile,
        record: bool = True,
        watch: _Watch | None = None,
    ) -> None:
        self.sim, self.params, self.profile = sim, sim.params, profile
        self.rng = np.random.default_rng([sim.seed, profile.user_id, 1])
        self.uni = _uniforms(self.rng)
        self.record = record
        self.lines: list[str] = []
        self.songs: list[int] = []
        self.user_id = f'"userId":"{profile.user_id}"'
        self.user_fields = profile.user_fields()
        self.level = profile.start_level
        self.logged_in = True
        self.ad_penalty = self.mood_walk = 0.0
        self.active_from = max(sim.start, profile.registration_ms // 1000 + 60)
        # The earliest start of a user's forced first session (later in a future).
        self.floor = self.active_from
        self.ts = self.sid = self.item = 0
        traits = self.params["traits"]
        # The mood walk's step is uniform with standard deviation mood_walk_sd.
        self.walk_step = traits["mood_walk_sd"] * math.sqrt(3.0)
        self.walk_memory = 1.0 - traits["mood_walk_reversion"]
        self.first, self.guest_pending, self.guest_at = True, False, 0.0
        self.watch = watch
        self.next_cutoff: float = (
            watch.cutoffs[0] if watch is not None and watch.cutoffs else math.inf
        )

    def emit(self, page: str, auth: str, song: int = -1) -> None:
        """Append the JSON line of ``page`` at the current time, session and item."""
        if self.record:
            known = auth in (LOGGED_IN, CANCELLED)
            self.lines.append(
                f'{{"ts":{self.ts * 1000},{self.user_id if known else _NO_USER_ID},'
                f'"sessionId":{self.sid},"page":"{page}","auth":"{auth}",{self.sim.http[page]},'
                f'"level":"{self.level}","itemInSession":{self.item},'
                f"{self.user_fields if known else _NULL_USER},"
                f"{self.sim.catalogue.fragments[song] if song >= 0 else _NULL_SONG}}}"
            )
        self.item += 1

    def next_song(self) -> int:
        """A catalogue index drawn by popularity."""
        if not self.songs:
            draws = self.rng.random(256)
            self.songs = np.searchsorted(
                self.sim.catalogue.cumulative_popularity, draws
            )
            self.songs = self.songs.tolist()[::-1]
        return self.songs.pop()

    def pause(self, mean: float) -> int:
        """Whole seconds of an exponential pause of ``mean`` seconds, at least one."""
        return 1 + int(-math.log(1.0 - next(self.uni)) * mean)

    def run(self) -> list[str]:
        """Sessions one after another until the period ends or the user cancels."""
        p, sim = self.params, self.sim
        self.guest_pending = next(self.uni) < p["guest"]["session_share"]
        self.guest_at = self.active_from + next(self.uni) * (sim.end - self.active_from)
        self.sessions(float(self.active_from))
        return self.lines

    def step_mood(self, t: float) -> tuple[float, float]:
        """Step the mood walk; the mood at ``t`` and the mean gap before the next session."""
        p, sim, profile = self.params, self.sim, self.profile
        step = self.walk_step * (2.0 * next(self.uni) - 1.0)
        self.mood_walk = self.mood_walk * self.walk_memory + step
        mood = (
            profile.satisfaction
            + profile.satisfaction_trend * (t - sim.start) / WEEK
            - profile.decline_rate * max(0.0, t - profile.decline_start) / WEEK
            - self.ad_penalty
            + self.mood_walk
        )
        mean_gap = (
            profile.session_gap_days
            * DAY
            / profile.engagement
            * math.exp(-p["sessions"]["gap_unhappiness"] * mood)
        )
        return mood, mean_gap

    def sessions(self, t: float, resume: tuple[float, float] | None = None) -> bool:
        """Sessions from time ``t`` on; True if the user cancels, False at the period's end.

        ``resume``: the (mood, mean gap) already drawn for the next session (a future that
        restarts the wait for a session), instead of stepping the mood at ``t``.
        """
        sim = self.sim
        while True:
            if resume is None:
                mood, mean_gap = self.step_mood(t)
            else:
                (mood, mean_gap), resume = resume, None
            start = self.next_session_start(t, mean_gap)
            over = start >= sim.end and not self.first
            if start >= sim.end and self.first:
                # Everyone in the log has at least one session.
                start = self.floor + next(self.uni) * (sim.end - self.floor)
            if start >= self.next_cutoff:
                self.branch_between_sessions(t, mood, mean_gap, start)
            if over:
                return False
            self.first = False
            if self.guest_pending and self.guest_at < start:
                self.guest_visit(self.guest_at)
                self.guest_pending = False
            if self.session(start, -mood):
                return True
            t = float(self.ts + 1)

    def next_session_start(self, t: float, mean_gap: float) -> float:
        """The next session start after ``t``: exponential gaps thinned by the rhythm."""
        sim = self.sim
        while True:
            t += -math.log(1.0 - next(self.uni)) * mean_gap * sim.mean_acceptance
            if t >= sim.end or next(self.uni) < sim.acceptance(t):
                return t

    def session(self, start: float, unhappy: float) -> bool:
        """Emit one session from ``start``; True if it ended with a cancellation."""
        sim, p = self.sim, self.params
        self.ts, self.item = int(start), 0
        self.sid = sim.session_id(start, self.sid, next(self.uni))
        rates = sim.rates(self.profile, self.level, unhappy)
        if self.logged_in:
            page = "Home" if next(self.uni) < p["start_on_home"] else NEXT_SONG
        else:
            page = _draw(*sim.logged_out_table, next(self.uni))
        return self.pages(page, rates, unhappy)

    def pages(self, page: str, rates: SessionRates, unhappy: float) -> bool:
        """Emit the session's pages from ``page`` (due at ``self.ts``) to its end; True if
        it ended with a cancellation."""
        uni, song_seconds, period_end = self.uni, self.sim.song_seconds, self.sim.end
        while True:
            if self.ts >= self.next_cutoff:
                self.branch_in_session(page, rates, unhappy)
            if page == NEXT_SONG and self.logged_in:
                # The common case, inlined: the draws of follow_up (nothing must follow a
                # song), of the session's end and of the next page.
                song = self.songs.pop() if self.songs else self.next_song()
                self.emit(page, LOGGED_IN, song)
                next(uni)
                if next(uni) < rates.end:
                    return False
                page = _draw(*rates.from_song, next(uni))
                self.ts += song_seconds[song]
                if self.ts >= period_end:
                    return False
                continue
            follow, rates = self.step(page, rates, unhappy)
            if isinstance(follow, bool):
                return follow
            page = follow

    def step(
        self, page: str, rates: SessionRates, unhappy: float
    ) -> tuple[str | bool, SessionRates]:
        """Emit ``page`` and draw what comes next: the next page (True if the user has
        cancelled, False if the session ends) and the session's rates."""
        sim, p = self.sim, self.params
        song = self.next_song() if page == NEXT_SONG else -1
        if page == CONFIRMATION:
            self.emit(page, CANCELLED)
            return True, rates
        self.emit(page, LOGGED_IN if self.logged_in else LOGGED_OUT, song)
        if page == "Roll Advert":
            self.ad_penalty += p["traits"]["ad_penalty"] * math.exp(
                -self.profile.ad_tolerance
            )
        level_before = self.level
        follow = self.follow_up(page, rates)
        if self.level != level_before:
            rates = sim.rates(self.profile, self.level, unhappy)
        if follow is None:
            end = rates.end if self.logged_in else p["session_end"]["logged_out"]
            if next(self.uni) < end:
                return False, rates
            follow = self.free_choice(page, rates)
        if page == NEXT_SONG:
            self.ts += sim.song_seconds[song]
        elif PAGE_HTTP[follow][1] == 307:
            self.ts += 1
        else:
            self.ts += self.pause(p["page_gap_seconds"])
        if self.ts >= sim.end:
            return False, rates
        return follow, rates

    def branch_between_sessions(
        self, t: float, mood: float, mean_gap: float, start: float
    ) -> None:
        """Resolve the cutoffs up to ``start``, a session start drawn after ``t``.

        At such a cutoff the user waits for a session: the mood and mean gap of that session
        are known (drawn at ``t``), no session started in ``[t, cutoff)``. Session starts
        are a Poisson process thinned by the rhythm, so the future given that is the same
        process restarted at the cutoff: each future draws its own start after it.
        """
        while start >= self.next_cutoff:
            cutoff = int(self.next_cutoff)
            restart = max(t, float(cutoff))
            self.resolve(
                cutoff,
                lambda future, at=restart: future.sessions(at, (mood, mean_gap)),
            )

    def branch_in_session(self, page: str, rates: SessionRates, unhappy: float) -> None:
        """Resolve the cutoffs up to ``self.ts``: the time of ``page``, the next page of the
        session, chosen (with its time) before the cutoff. Each future emits it and goes on.
        """

        def go_on(future: _UserStream) -> None:
            if not future.pages(page, rates, unhappy):
                future.sessions(float(future.ts + 1))

        while self.ts >= self.next_cutoff:
            self.resolve(int(self.next_cutoff), go_on)

    def resolve(self, cutoff: int, go_on: Callable[[_UserStream], object]) -> None:
        """Run the futures of ``cutoff`` (``go_on(future)`` continues one), record the
        share that churned and move on to the next cutoff."""
        watch, sim = self.watch, self.sim
        assert watch is not None
        rng = np.random.default_rng([sim.seed, self.profile.user_id, 2, cutoff])
        uni = _uniforms(rng)
        stop = min(cutoff + watch.horizon_seconds, sim.end)
        total = squares = 0.0
        kept = []
        for _ in range(watch.n_futures):
            future = _Future(
                self, rng=rng, uni=uni, cutoff=cutoff, stop=stop, watch=watch
            )
            try:
                go_on(future)
                value = 1.0 - future.survival
            except _FutureOver as over:
                value = 1.0 if over.churned else 1.0 - future.survival
            total += value
            squares += value * value
            if watch.record_futures:
                kept.append(future.lines)
        n = watch.n_futures
        mean = total / n
        watch.probabilities[cutoff] = mean
        watch.standard_errors[cutoff] = (
            math.sqrt(max(0.0, squares / n - mean * mean) / (n - 1))
            if n > 1
            else math.nan
        )
        watch.futures[cutoff] = kept
        watch.cutoffs.pop(0)
        self.next_cutoff = watch.cutoffs[0] if watch.cutoffs else math.inf

    def follow_up(self, page: str, rates: SessionRates) -> str | None:
        """The page that must follow ``page`` (Cancel, a submit, Save Settings), if any.

        Also applies what ``page`` changes: level after a submit, auth after Logout/Login.
        """
        u = next(self.uni)
        if not self.logged_in:
            self.logged_in = page == "Login"
            return None
        return self.decide(page, rates, u)

    def offers(self, page: str, rates: SessionRates) -> tuple[float, float, str | None]:
        """``(cancel, chance, offered)``: after ``page`` a uniform ``u < cancel`` leads to
        Cancel, ``cancel <= u < cancel + chance`` to ``offered`` (``_OFFERED[page]``)."""
        cancel = rates.cancel.get(page, 0.0)
        if page == "Downgrade":
            return cancel, rates.submit_downgrade, _OFFERED[page]
        if page == "Upgrade":
            return cancel, rates.submit_upgrade, _OFFERED[page]
        if page == "Settings":
            return cancel, self.params["save_settings"], _OFFERED[page]
        return cancel, 0.0, None

    def decide(self, page: str, rates: SessionRates, u: float) -> str | None:
        """``follow_up`` of a logged-in user, given its uniform ``u``."""
        if page == NEXT_SONG:
            return None
        if page == CANCEL:
            return CONFIRMATION
        cancel, chance, offered = self.offers(page, rates)
        if u < cancel:
            return CANCEL
        if u < cancel + chance:
            return offered
        if page == "Submit Downgrade":
            self.level = "free"
        elif page == "Submit Upgrade":
            self.level = "paid"
        elif page == "Logout":
            self.logged_in = False
        return None

    def free_choice(self, page: str, rates: SessionRates) -> str:
        """The next page drawn from the transition table of the current state."""
        if not self.logged_in:
            return _draw(*self.sim.logged_out_table, next(self.uni))
        table = rates.from_song if page == NEXT_SONG else rates.from_other
        return _draw(*table, next(self.uni))

    def guest_visit(self, at: float) -> None:
        """A short anonymous visit: a few guest pages, perhaps a registration."""
        guest, sim = self.params["guest"], self.sim
        saved = self.ts, self.sid, self.item, self.level
        self.ts, self.item, self.level = int(at), 0, "free"
        self.sid = sim.session_id(at, 0, next(self.uni)) + int(next(self.uni) * 50)
        page = _draw(*sim.guest_table, next(self.uni))
        while self.ts < sim.end:
            self.emit(page, GUEST)
            if page == "Register" and next(self.uni) < guest["submit_registration"]:
                page, self.ts = "Submit Registration", self.ts + 1
                continue
            if page == "Submit Registration" or next(self.uni) < guest["end"]:
                break
            page = _draw(*sim.guest_table, next(self.uni))
            self.ts += self.pause(self.params["page_gap_seconds"])
        self.ts, self.sid, self.item, self.level = saved


class _Future(_UserStream):
    """A copy of a stream at a cutoff that goes on with its own random numbers.

    Shares the stream's state (level, auth, mood walk, ad penalty, session, clock), not its
    generator: it draws from ``rng`` / ``uni`` (one per cutoff, futures one after another),
    starts with no buffered songs, skips the pending guest visit (it changes nothing but
    anonymous rows), never branches, and ends by raising ``_FutureOver``: True at its first
    churn page of the user, False when its clock reaches ``stop``. A user with no session
    before the cutoff (never at risk) who gets the forced first session has it drawn in
    ``[cutoff, end)`` (``floor``): an approximation of that rare case.

    Smoothing (``watch.smooth``): at a choice whose outcomes may lead to a churn page (Cancel
    from a gateway page, then Cancellation Confirmation; Submit Downgrade from Downgrade),
    the future multiplies ``survival`` by the chance of not churning there and goes on with
    a non-churn outcome, drawn from the choice's distribution given that. Its value,
    ``1 - survival`` (1 if it meets a churn page anyway), has the expectation of the churn
    indicator of an unsmoothed future, with a much smaller variance. Choices later than
    ``stop - margin`` are drawn as usual, ``margin`` being the longest delay from the
    choice to the churn page (Cancel 1 s, Confirmation a pause after it, at most
    ``1 + int(36.8 * page_gap_seconds)``), so the horizon stays exact.
    """

    def __init__(
        self,
        origin: _UserStream,
        *,
        rng: np.random.Generator,
        uni: Iterator[float],
        cutoff: int,
        stop: int,
        watch: _Watch,
    ) -> None:
        self.__dict__.update(origin.__dict__)
        self.rng, self.uni, self.songs, self.lines = rng, uni, [], []
        self.record = watch.record_futures
        self.churn_pages, self.stop = watch.churn_pages, stop
        cancel_churns = bool({CANCEL, CONFIRMATION} & watch.churn_pages)
        self.cancel_churns = cancel_churns
        # The pages after which a churn page may follow (see ``offers``).
        self.hazard_pages = frozenset(
            (CANCEL_GATEWAYS if cancel_churns else ())
            + tuple(
                page
                for page, offered in _OFFERED.items()
                if offered in watch.churn_pages
            )
        )
        margin = 2 + int(37 * self.params["page_gap_seconds"])
        self.smooth_until = stop - margin if watch.smooth else -math.inf
        self.survival = 1.0
        self.watch, self.next_cutoff = None, math.inf
        self.guest_pending = False
        self.floor = max(self.active_from, cutoff)

    def emit(self, page: str, auth: str, song: int = -1) -> None:
        """End the future at ``stop`` or at a churn page of the user, else go on."""
        if self.ts >= self.stop:
            raise _FutureOver(False)
        if self.record:
            super().emit(page, auth, song)
        else:
            self.item += 1
        if page in self.churn_pages and auth in (LOGGED_IN, CANCELLED):
            raise _FutureOver(True)

    def session(self, start: float, unhappy: float) -> bool:
        """A session, unless it would start after the future's horizon."""
        if start >= self.stop:
            raise _FutureOver(False)
        return super().session(start, unhappy)

    def follow_up(self, page: str, rates: SessionRates) -> str | None:
        """``follow_up``, smoothed where its outcome may lead to a churn page."""
        if page not in self.hazard_pages or not self.logged_in:
            return super().follow_up(page, rates)
        if self.ts >= self.smooth_until:
            return super().follow_up(page, rates)
        cancel, chance, offered = self.offers(page, rates)
        low, high = min(cancel, 1.0), min(cancel + chance, 1.0)
        pieces = (
            (0.0, low, self.cancel_churns),
            (low, high, offered in self.churn_pages),
            (high, 1.0, False),
        )
        hazard = sum(hi - lo for lo, hi, churns in pieces if churns)
        if hazard >= 1.0:
            raise _FutureOver(True)
        self.survival *= 1.0 - hazard
        v = next(self.uni) * (1.0 - hazard)
        for lo, hi, churns in pieces:
            if churns or hi <= lo:
                continue
            if v < hi - lo:
                return self.decide(page, rates, min(lo + v, math.nextafter(hi, lo)))
            v -= hi - lo
        return self.decide(page, rates, math.nextafter(1.0, 0.0))
