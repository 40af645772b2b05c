"""The futures a simulated user's stream branches into at a cutoff: ``ceiling_run``
replays the stream (``Replay``, the same events) and at each cutoff runs ``n_futures``
copies of it (``Future``) to the horizon with their own random numbers."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from sparkify_kedro.pipelines.simulation.generator import UserSimulator, UserStream
from sparkify_kedro.pipelines.simulation.primitives import (
    CANCEL,
    CANCEL_GATEWAYS,
    CANCELLED,
    CONFIRMATION,
    LOGGED_IN,
    OFFERED,
    uniforms,
)
from sparkify_kedro.pipelines.simulation.profiles import draw_user_profile
from sparkify_kedro.pipelines.simulation.rates import SessionRates


@dataclass(frozen=True)
class CeilingRun:
    """What ``ceiling_run`` found: the user's lines (if recorded); per cutoff the churn
    probability and its Monte-Carlo standard error (the futures' standard deviation over
    the square root of their number; NaN with one future); and, if recorded, the lines of
    every future of every cutoff (a future's lines stop at its end)."""

    lines: list[str]
    probabilities: list[float]
    standard_errors: list[float]
    futures: list[list[list[str]]]


class FutureOver(Exception):
    """Raised inside a future when it ends: at its first churn page or at its horizon."""

    def __init__(self, churned: bool) -> None:
        super().__init__(churned)
        self.churned = churned


class Replay(UserStream):
    """A user's stream that runs the futures of each cutoff when its clock reaches it,
    drawing nothing from its own generator; ``found`` holds, per cutoff, the probability,
    its standard error and the futures' lines (if recorded)."""

    def __init__(
        self,
        sim: UserSimulator,
        user_id: int,
        cutoffs: list[int],
        *,
        horizon_seconds: int,
        churn_pages: frozenset[str],
        n_futures: int,
        smooth: bool,
        record: bool,
    ) -> None:
        super().__init__(sim, draw_user_profile(sim.params, user_id), record=record)
        self.cutoffs, self.horizon_seconds = cutoffs, horizon_seconds
        self.churn_pages, self.n_futures, self.smooth = churn_pages, n_futures, smooth
        self.cancel_churns = bool({CANCEL, CONFIRMATION} & churn_pages)
        # The pages after which a churn page may follow (see ``offers``).
        self.hazard_pages = frozenset(
            (CANCEL_GATEWAYS if self.cancel_churns else ())
            + tuple(page for page, offered in OFFERED.items() if offered in churn_pages)
        )
        self.found: dict[int, tuple[float, float, list[list[str]]]] = {}
        self.next_cutoff = cutoffs[0] if cutoffs else math.inf

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

        def go_on(future: UserStream) -> None:
            if not future.pages(page, rates, unhappy):
                future.sessions(float(future.ts + 1))

        while self.ts >= self.next_cutoff:
            self.resolve(int(self.next_cutoff), go_on)

    def resolve(self, cutoff: int, go_on: Callable[[UserStream], object]) -> None:
        """Run the futures of ``cutoff`` (``go_on(future)`` continues one), record the
        share that churned and its standard error, then watch the next cutoff."""
        rng = np.random.default_rng([self.sim.seed, self.profile.user_id, 2, cutoff])
        uni = uniforms(rng)
        stop = min(cutoff + self.horizon_seconds, self.sim.end)
        total = squares = 0.0
        kept = []
        for _ in range(self.n_futures):
            future = Future(self, rng=rng, uni=uni, cutoff=cutoff, stop=stop)
            try:
                go_on(future)
                value = 1.0 - future.survival
            except FutureOver as over:
                value = 1.0 if over.churned else 1.0 - future.survival
            total += value
            squares += value * value
            if self.record:
                kept.append(future.lines)
        n = self.n_futures
        mean = total / n
        error = (
            math.sqrt(max(0.0, squares / n - mean * mean) / (n - 1))
            if n > 1
            else math.nan
        )
        self.found[cutoff] = (mean, error, kept)
        self.cutoffs.pop(0)
        self.next_cutoff = self.cutoffs[0] if self.cutoffs else math.inf


class Future(UserStream):
    """A copy of a replayed stream at a cutoff that goes on with its own random numbers.

    Shares the stream's state (level, auth, mood walk, ad penalty, session, clock), not its
    generator (``rng`` / ``uni``, one per cutoff); starts with no buffered songs, skips
    the pending guest visit (anonymous rows only), never branches, and raises
    ``FutureOver``: True at the user's first churn page, False when its clock reaches
    ``stop``. A forced first session of a user with none before the cutoff is drawn in
    ``[cutoff, end)`` (``floor``), an approximation of that rare case.

    Smoothing (``smooth``): at a choice that may lead to a churn page (Cancel from a
    gateway page; Submit Downgrade from Downgrade), ``survival`` is multiplied by the
    chance of not churning there and a non-churn outcome is drawn given that; the value
    ``1 - survival`` has the churn indicator's expectation with a smaller variance.
    Choices later than ``stop - margin`` (the longest delay from the choice to the churn
    page) are drawn as usual, so the horizon stays exact.
    """

    def __init__(
        self,
        origin: Replay,
        *,
        rng: np.random.Generator,
        uni: Iterator[float],
        cutoff: int,
        stop: int,
    ) -> None:
        self.__dict__.update(origin.__dict__)
        self.rng, self.uni, self.songs, self.lines = rng, uni, [], []
        self.stop = stop
        margin = 2 + int(37 * self.params["page_gap_seconds"])
        self.smooth_until = stop - margin if self.smooth else -math.inf
        self.survival = 1.0
        self.next_cutoff = math.inf
        self.guest_pending = False
        self.floor = max(self.active_from, cutoff)

    def emit(self, page: str, auth: str, song: int = -1) -> None:
        """End the future at ``stop`` or at a churn page of the user, else go on."""
        if self.ts >= self.stop:
            raise FutureOver(False)
        if self.record:
            super().emit(page, auth, song)
        else:
            self.item += 1
        if page in self.churn_pages and auth in (LOGGED_IN, CANCELLED):
            raise FutureOver(True)

    def session(self, start: float, unhappy: float) -> bool:
        """A session, unless it would start after the future's horizon."""
        if start >= self.stop:
            raise FutureOver(False)
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
            raise FutureOver(True)
        self.survival *= 1.0 - hazard
        v = next(self.uni) * (1.0 - hazard)
        for lo, hi, churns in pieces:
            if churns or hi <= lo:
                continue
            if v < hi - lo:
                return self.decide(page, rates, min(lo + v, math.nextafter(hi, lo)))
            v -= hi - lo
        return self.decide(page, rates, math.nextafter(1.0, 0.0))


def ceiling_run(
    sim: UserSimulator,
    user_id: int,
    cutoffs: list[int],
    horizon_seconds: int,
    churn_pages: frozenset[str],
    *,
    n_futures: int,
    smooth: bool = True,
    record: bool = False,
) -> CeilingRun:
    """Run a user's stream (the draws of ``sim.user_lines``: the logged events),
    branching into ``n_futures`` futures at each cutoff (epoch seconds, ascending).

    Futures continue from the stream's full state at the cutoff (``Replay``) and end at
    the user's first churn page (``churn_pages``) or at ``min(cutoff + horizon_seconds,
    end)``. The probability is the mean of their values: 1 or 0 (churned or not) with
    ``smooth=False``, the chance of churning along the path taken with ``smooth=True``
    (``Future``: the same expectation, less noise). A cutoff's futures draw one after
    another from ``default_rng([seed, user_id, 2, cutoff])``, so its probability does not
    depend on the other cutoffs and the first k futures are the same for any
    ``n_futures >= k``. Cutoffs after the user cancelled get 0. ``record`` keeps the JSON
    lines of the stream and of every future (slower).
    """
    cutoffs = [int(cutoff) for cutoff in cutoffs]
    if cutoffs != sorted(cutoffs):
        raise ValueError("cutoffs must be in ascending order")
    if n_futures < 1:
        raise ValueError("n_futures must be at least 1")
    replay = Replay(
        sim,
        user_id,
        list(cutoffs),
        horizon_seconds=int(horizon_seconds),
        churn_pages=frozenset(churn_pages),
        n_futures=int(n_futures),
        smooth=smooth,
        record=record,
    )
    lines = replay.run()
    found = [replay.found.get(cutoff, (0.0, 0.0, [])) for cutoff in cutoffs]
    return CeilingRun(
        lines=lines,
        probabilities=[probability for probability, _, _ in found],
        standard_errors=[error for _, error, _ in found],
        futures=[futures for _, _, futures in found],
    )
