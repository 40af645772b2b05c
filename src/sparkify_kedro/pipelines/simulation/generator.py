"""A pure-Python, eventsim-like generator of one Sparkify user's event stream, called per
user inside Spark tasks. A stream depends only on the parameters and ``(seed, user id)``:
the profile draws from ``default_rng([seed, user, 0])`` (``profiles.py``), the events from
``[seed, user, 1]``. The behavioural model is described in this pipeline's README.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sparkify_kedro.pipelines.simulation.catalogue import build_catalogue
from sparkify_kedro.pipelines.simulation.primitives import (
    CANCEL,
    CANCELLED,
    CONFIRMATION,
    DAY,
    GUEST,
    LOGGED_IN,
    LOGGED_OUT,
    NEXT_SONG,
    NO_USER_ID,
    NULL_SONG,
    NULL_USER,
    OFFERED,
    PAGE_HTTP,
    WEEK,
    draw,
    epoch_seconds,
    transition_table,
    uniforms,
)
from sparkify_kedro.pipelines.simulation.profiles import UserProfile, draw_user_profile
from sparkify_kedro.pipelines.simulation.rates import (
    SessionRates,
    page_weights,
    session_rates,
)


class UserSimulator:
    """The parameters turned into what every user shares (catalogue, rhythm, page tables),
    and the raw JSON lines of one user at a time."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.seed = int(params["seed"])
        self.start = epoch_seconds(params["start"])
        self.end = epoch_seconds(params["end"])
        self.n_users = int(params["n_users"])
        self.catalogue = build_catalogue(self.seed, **params["catalogue"])
        rhythm = params["rhythm"]
        hours = [float(w) for w in rhythm["hour_weights"]]
        self.hour_acceptance = [w / max(hours) for w in hours]
        self.weekend_acceptance = float(rhythm["weekend_factor"])
        self.mean_acceptance = (
            sum(self.hour_acceptance) / 24 * (5 + 2 * self.weekend_acceptance) / 7
        )
        #: Seconds from a song to the next page: its length rounded, at least one.
        self.song_seconds = [max(1, round(length)) for length in self.catalogue.lengths]
        self.page_weights = page_weights(params)
        self.logged_out_table = transition_table(params["logged_out_pages"])
        self.guest_table = transition_table(params["guest"]["pages"])
        self.http = {
            page: f'"method":"{method}","status":{status}'
            for page, (method, status) in PAGE_HTTP.items()
        }

    def user_lines(self, user_id: int) -> list[str]:
        """All raw JSON lines of one user (and of their anonymous visits)."""
        return UserStream(self, draw_user_profile(self.params, user_id)).run()

    def rates(self, profile: UserProfile, level: str, unhappy: float) -> SessionRates:
        """Transition tables and chances of a session at ``level`` and unhappiness."""
        return session_rates(self.params, self.page_weights, profile, level, unhappy)

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


class UserStream:
    """One user's stream while it is generated: the clock, the session and the state.

    Split into resumable pieces (``sessions``, ``session``, ``pages``) so that a copy can
    continue it from any point; when its clock reaches ``next_cutoff`` (never here; the
    ceiling's ``Replay`` sets it) it calls ``branch_between_sessions`` /
    ``branch_in_session``, which draw nothing from its generator.
    """

    def __init__(
        self, sim: UserSimulator, profile: UserProfile, record: bool = True
    ) -> None:
        self.sim, self.params, self.profile = sim, sim.params, profile
        self.rng = np.random.default_rng([sim.seed, profile.user_id, 1])
        self.uni = uniforms(self.rng)
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
        # When the stream next calls a branch hook: never, unless a subclass watches.
        self.next_cutoff: float = math.inf

    def branch_between_sessions(
        self, t: float, mood: float, mean_gap: float, start: float
    ) -> None:
        """Hook at ``next_cutoff`` while waiting for a session drawn at ``t`` (the mood and
        mean gap of that session) to start at ``start``."""

    def branch_in_session(self, page: str, rates: SessionRates, unhappy: float) -> None:
        """Hook at ``next_cutoff`` inside a session, ``page`` being due at ``self.ts``."""

    def emit(self, page: str, auth: str, song: int = -1) -> None:
        """Append the JSON line of ``page`` at the current time, session and item."""
        if self.record:
            known = auth in (LOGGED_IN, CANCELLED)
            self.lines.append(
                f'{{"ts":{self.ts * 1000},{self.user_id if known else NO_USER_ID},'
                f'"sessionId":{self.sid},"page":"{page}","auth":"{auth}",{self.sim.http[page]},'
                f'"level":"{self.level}","itemInSession":{self.item},'
                f"{self.user_fields if known else NULL_USER},"
                f"{self.sim.catalogue.fragments[song] if song >= 0 else NULL_SONG}}}"
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
            page = draw(*sim.logged_out_table, next(self.uni))
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
                page = draw(*rates.from_song, next(uni))
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
        Cancel, ``cancel <= u < cancel + chance`` to ``offered`` (``OFFERED[page]``)."""
        cancel = rates.cancel.get(page, 0.0)
        if page == "Downgrade":
            return cancel, rates.submit_downgrade, OFFERED[page]
        if page == "Upgrade":
            return cancel, rates.submit_upgrade, OFFERED[page]
        if page == "Settings":
            return cancel, self.params["save_settings"], OFFERED[page]
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
            return draw(*self.sim.logged_out_table, next(self.uni))
        table = rates.from_song if page == NEXT_SONG else rates.from_other
        return draw(*table, next(self.uni))

    def guest_visit(self, at: float) -> None:
        """A short anonymous visit: a few guest pages, perhaps a registration."""
        guest, sim = self.params["guest"], self.sim
        saved = self.ts, self.sid, self.item, self.level
        self.ts, self.item, self.level = int(at), 0, "free"
        self.sid = sim.session_id(at, 0, next(self.uni)) + int(next(self.uni) * 50)
        page = draw(*sim.guest_table, next(self.uni))
        while self.ts < sim.end:
            self.emit(page, GUEST)
            if page == "Register" and next(self.uni) < guest["submit_registration"]:
                page, self.ts = "Submit Registration", self.ts + 1
                continue
            if page == "Submit Registration" or next(self.uni) < guest["end"]:
                break
            page = draw(*sim.guest_table, next(self.uni))
            self.ts += self.pause(self.params["page_gap_seconds"])
        self.ts, self.sid, self.item, self.level = saved
