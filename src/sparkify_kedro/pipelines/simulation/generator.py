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
``page_weight_factors`` multiplies the after-song weights of some pages (a shifted
behaviour, e.g. three times as many thumbs down, to test drift detection); none by default.

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

import math
from dataclasses import dataclass
from typing import Any

from sparkify_kedro.pipelines.simulation.catalogue import (
    CatalogueSpec,
    build_catalogue,
)
from sparkify_kedro.pipelines.simulation.futures import CutoffWatch
from sparkify_kedro.pipelines.simulation.primitives import (
    CANCEL_GATEWAYS,
    DAY,
    NEXT_SONG,
    PAGE_HTTP,
    epoch_seconds,
    transition_table,
)
from sparkify_kedro.pipelines.simulation.profiles import (
    UserProfile,
    draw_user_profile,
)
from sparkify_kedro.pipelines.simulation.user_stream import UserStream


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
        factors = params["page_weight_factors"] or {}
        unknown = sorted(
            set(factors) - {page for t in params["pages"].values() for page in t}
        )
        if unknown:
            raise ValueError(
                f"page_weight_factors: {unknown} are not pages of the `pages` tables."
            )
        #: The after-song page weights by level, times ``page_weight_factors`` (a shifted
        #: behaviour; none by default).
        self.page_weights = {
            level: {
                page: w * float(factors.get(page, 1.0)) for page, w in table.items()
            }
            for level, table in params["pages"].items()
        }
        self.logged_out_table = transition_table(params["logged_out_pages"])
        self.guest_table = transition_table(params["guest"]["pages"])
        self.http = {
            page: f'"method":"{method}","status":{status}'
            for page, (method, status) in PAGE_HTTP.items()
        }

    def user_lines(self, user_id: int) -> list[str]:
        """All raw JSON lines of one user (and of their anonymous visits)."""
        return UserStream(self, draw_user_profile(self.params, user_id)).run()

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
        (see ``Future``): the same expectation, a smaller Monte-Carlo error. The futures of
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
        watch = CutoffWatch(
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
        lines = UserStream(self, profile, record=record, watch=watch).run()
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
        weights = dict(self.page_weights[level])
        for page, strength in p["mood_effects"].items():
            if page in weights:
                weights[page] *= math.exp(strength * unhappy)
        back, total = p["return_to_music"], sum(weights.values())
        other = {page: (1 - back) * w / total for page, w in weights.items()}
        other[NEXT_SONG] = other.get(NEXT_SONG, 0.0) + back
        cancel_boost = math.exp(churn["cancel_unhappiness"] * unhappy)
        ad_boost = math.exp(-churn["cancel_ad_tolerance"] * profile.ad_tolerance)
        return SessionRates(
            from_song=transition_table(weights),
            from_other=transition_table(other),
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
