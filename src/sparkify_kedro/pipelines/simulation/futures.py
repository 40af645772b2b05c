"""The futures a simulated user's stream branches into at a cutoff (the ceiling's draws).

A ``CutoffWatch`` given to a ``UserStream`` makes it stop at each cutoff, run
``n_futures`` copies of itself (``Future``) to the horizon with their own random numbers,
and record the share that churned: the simulator's own churn probability for that user at
that cutoff. The logged stream is not changed by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sparkify_kedro.pipelines.simulation.primitives import (
    CANCEL,
    CANCEL_GATEWAYS,
    CANCELLED,
    CONFIRMATION,
    LOGGED_IN,
    OFFERED,
    uniforms,
)
from sparkify_kedro.pipelines.simulation.user_stream import UserStream

if TYPE_CHECKING:
    from sparkify_kedro.pipelines.simulation.generator import SessionRates


class FutureOver(Exception):
    """Raised inside a future when it ends: at its first churn page or at its horizon."""

    def __init__(self, churned: bool) -> None:
        super().__init__(churned)
        self.churned = churned


@dataclass
class CutoffWatch:
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

    def resolve(
        self, stream: UserStream, cutoff: int, go_on: Callable[[UserStream], object]
    ) -> None:
        """Run ``n_futures`` futures of ``stream`` from ``cutoff`` (``go_on(future)``
        continues one), record the share that churned and its standard error, and stop
        watching ``cutoff``."""
        sim = stream.sim
        rng = np.random.default_rng([sim.seed, stream.profile.user_id, 2, cutoff])
        uni = uniforms(rng)
        stop = min(cutoff + self.horizon_seconds, sim.end)
        total = squares = 0.0
        kept = []
        for _ in range(self.n_futures):
            future = Future(
                stream, rng=rng, uni=uni, cutoff=cutoff, stop=stop, watch=self
            )
            try:
                go_on(future)
                value = 1.0 - future.survival
            except FutureOver as over:
                value = 1.0 if over.churned else 1.0 - future.survival
            total += value
            squares += value * value
            if self.record_futures:
                kept.append(future.lines)
        n = self.n_futures
        mean = total / n
        self.probabilities[cutoff] = mean
        self.standard_errors[cutoff] = (
            math.sqrt(max(0.0, squares / n - mean * mean) / (n - 1))
            if n > 1
            else math.nan
        )
        self.futures[cutoff] = kept
        self.cutoffs.pop(0)


class Future(UserStream):
    """A copy of a stream at a cutoff that goes on with its own random numbers.

    Shares the stream's state (level, auth, mood walk, ad penalty, session, clock), not its
    generator: it draws from ``rng`` / ``uni`` (one per cutoff, futures one after another),
    starts with no buffered songs, skips the pending guest visit (it changes nothing but
    anonymous rows), never branches, and ends by raising ``FutureOver``: True at its first
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
        origin: UserStream,
        *,
        rng: np.random.Generator,
        uni: Iterator[float],
        cutoff: int,
        stop: int,
        watch: CutoffWatch,
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
                for page, offered in OFFERED.items()
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
