"""The simulator's own churn probabilities (the ceiling): replay a user, then draw futures."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from sparkify_kedro.pipelines.simulation.ceiling.futures import ceiling_run
from sparkify_kedro.pipelines.simulation.ceiling.probabilities import (
    CHURN_PROBABILITY_SCHEMA,
    simulate_churn_probabilities,
)
from sparkify_kedro.pipelines.simulation.generator import UserSimulator
from sparkify_kedro.pipelines.simulation.primitives import DAY, epoch_seconds

CHURN = frozenset({"Submit Downgrade", "Cancellation Confirmation"})
HORIZON = 14 * DAY
#: The snapshot cutoffs of the default log (UTC midnights, 7 days apart).
CUTOFFS = [epoch_seconds("2018-10-15") + 7 * DAY * k for k in range(6)]
CHURN_TASK = {
    "churn_definition": "paid_to_free_or_cancel",
    "churn_definitions": {
        "paid_to_free_or_cancel": sorted(CHURN),
        "cancellation_only": ["Cancellation Confirmation"],
    },
    "horizon_days": 14,
}


@pytest.fixture(scope="module")
def simulator(simulation_params: dict[str, Any]) -> UserSimulator:
    return UserSimulator(simulation_params)


def _events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def _seconds(event: dict[str, Any]) -> int:
    return event["ts"] // 1000


def _odd_cutoffs(events: list[dict[str, Any]]) -> list[int]:
    """Cutoffs that fall inside sessions and between them: the midnights, and one second
    after every 151st event of the user."""
    odd = {_seconds(event) + 1 for event in events[::151]}
    return sorted(odd | set(CUTOFFS))


@pytest.mark.parametrize("seed", [42, 7])
def test_watching_cutoffs_leaves_the_logged_stream_unchanged(
    simulation_params: dict[str, Any], seed: int
):
    """Branching draws nothing from the user's generator: the watched run writes the
    lines of ``user_lines`` byte for byte, so the events before every cutoff are the
    logged ones."""
    simulator = UserSimulator({**simulation_params, "seed": seed})
    for user in range(1, 9):
        logged = simulator.user_lines(user)
        cutoffs = _odd_cutoffs(_events(logged))
        run = ceiling_run(
            simulator, user, cutoffs, HORIZON, CHURN, n_futures=2, record=True
        )
        assert run.lines == logged, user
        assert len(run.probabilities) == len(cutoffs)
        # Keeping lines draws nothing either: the probabilities are those of a bare run.
        assert (
            run.probabilities
            == ceiling_run(
                simulator, user, cutoffs, HORIZON, CHURN, n_futures=2
            ).probabilities
        )


def test_futures_go_on_from_the_state_at_the_cutoff(simulator: UserSimulator):
    """Inside a session, every future first emits the page that was due at the cutoff
    (same time, session, item, level), as the logged stream does; between sessions, it
    starts a new session after the cutoff. Futures stay in [cutoff, cutoff + horizon)."""
    in_session = between = 0
    for user in range(1, 9):
        logged = _events(simulator.user_lines(user))
        own = [event for event in logged if event["auth"] != "Guest"]
        cutoffs = _odd_cutoffs(logged)
        run = ceiling_run(
            simulator, user, cutoffs, HORIZON, CHURN, n_futures=3, record=True
        )
        for cutoff, futures in zip(cutoffs, run.futures, strict=True):
            before = [event for event in own if _seconds(event) < cutoff]
            after = [event for event in own if _seconds(event) >= cutoff]
            if not before or not after or after[0]["page"] == "Cancel":
                continue
            continued = after[0]["sessionId"] == before[-1]["sessionId"]
            for lines in futures:
                future = _events(lines)
                assert all(
                    cutoff <= _seconds(event) < cutoff + HORIZON for event in future
                )
                if not future:
                    continue
                first = future[0]
                if continued:
                    keys = ("ts", "sessionId", "page", "auth", "level", "itemInSession")
                    assert {k: first[k] for k in keys} == {k: after[0][k] for k in keys}
                    in_session += 1
                else:
                    assert first["itemInSession"] == 0
                    assert first["sessionId"] > before[-1]["sessionId"]
                    between += 1
    assert in_session > 0 and between > 0


def test_a_cutoff_only_depends_on_itself(simulator: UserSimulator):
    """The futures of a cutoff have their own seed: asking for other cutoffs too, or for
    more futures, changes nothing for it (the first k futures are always the same)."""
    alone = ceiling_run(simulator, 5, CUTOFFS[3:4], HORIZON, CHURN, n_futures=4)
    together = ceiling_run(simulator, 5, CUTOFFS, HORIZON, CHURN, n_futures=4)
    assert alone.probabilities[0] == together.probabilities[3]
    more = ceiling_run(
        simulator, 5, CUTOFFS[3:4], HORIZON, CHURN, n_futures=8, record=True
    )
    fewer = ceiling_run(
        simulator, 5, CUTOFFS[3:4], HORIZON, CHURN, n_futures=4, record=True
    )
    assert more.futures[0][:4] == fewer.futures[0]


def _cancellations(
    simulator: UserSimulator, users: range
) -> list[tuple[int, int, int]]:
    """(user, Cancel time, Cancellation Confirmation time) of the users who cancel."""
    found = []
    for user in users:
        events = _events(simulator.user_lines(user))
        for event, following in zip(events, events[1:], strict=False):
            if event["page"] == "Cancel":
                assert following["page"] == "Cancellation Confirmation"
                found.append((user, _seconds(event), _seconds(following)))
    return found


@pytest.mark.parametrize("smooth", [True, False])
def test_a_pending_cancellation_confirmation_is_certain_churn(
    simulator: UserSimulator, smooth: bool
):
    """A cutoff after Cancel, up to its Cancellation Confirmation (a pause later: the
    confirmation is the page due at the cutoff), gives 1; one after the confirmation
    gives 0: the user has left."""
    cancellations = _cancellations(simulator, range(1, 31))[:3]
    assert cancellations
    for user, cancel, confirmation in cancellations:
        cutoffs = [cancel + 1, confirmation, confirmation + 1]
        probabilities = ceiling_run(
            simulator, user, cutoffs, HORIZON, CHURN, n_futures=5, smooth=smooth
        ).probabilities
        assert probabilities == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("smooth", [True, False])
def test_churn_is_impossible_when_the_simulator_never_churns(
    simulation_params: dict[str, Any], smooth: bool
):
    params = copy.deepcopy(simulation_params)
    params["churn"]["cancel"] = dict.fromkeys(params["churn"]["cancel"], 0.0)
    params["churn"]["submit_downgrade"] = 0.0
    simulator = UserSimulator(params)
    for user in range(1, 9):
        assert ceiling_run(
            simulator, user, CUTOFFS, HORIZON, CHURN, n_futures=5, smooth=smooth
        ).probabilities == [0.0] * len(CUTOFFS)


def _at_risk_rows(
    simulator: UserSimulator, users: range
) -> dict[int, list[tuple[int, int]]]:
    """Per user, the (cutoff, label) rows of the snapshot labels: an event of the user in
    the 14 days before the cutoff, no cancellation before it; label 1 with a churn page in
    [cutoff, cutoff + 14 days)."""
    rows: dict[int, list[tuple[int, int]]] = {}
    for user in users:
        events = [
            event
            for event in _events(simulator.user_lines(user))
            if event["userId"] != ""
        ]
        times = [_seconds(event) for event in events]
        cancelled = [
            _seconds(e) for e in events if e["page"] == "Cancellation Confirmation"
        ]
        churned = [_seconds(e) for e in events if e["page"] in CHURN]
        for cutoff in CUTOFFS:
            if (cancelled and cancelled[0] < cutoff) or not any(
                cutoff - HORIZON <= t < cutoff for t in times
            ):
                continue
            label = int(any(cutoff <= t < cutoff + HORIZON for t in churned))
            rows.setdefault(user, []).append((cutoff, label))
    return rows


def test_probabilities_match_the_realised_churn_of_the_log(simulator: UserSimulator):
    """The logged labels are one draw of the futures: over the at-risk rows of 100 users
    (about 480 rows, 60 churners), the realised churn equals the sum of the probabilities
    within 3.5 standard deviations (labels' Bernoulli noise plus the Monte-Carlo error),
    overall and in each half of the rows ranked by probability (calibration). The
    smoothed and the unsmoothed (plain share of churning futures) estimators agree too."""
    rows = _at_risk_rows(simulator, range(1, 101))
    found: dict[bool, list[tuple[int, float, float]]] = {True: [], False: []}
    for smooth, found_rows in found.items():
        for user, user_rows in rows.items():
            run = ceiling_run(
                simulator,
                user,
                [cutoff for cutoff, _ in user_rows],
                HORIZON,
                CHURN,
                n_futures=4,
                smooth=smooth,
            )
            found_rows.extend(
                (label, p, se)
                for (_, label), p, se in zip(
                    user_rows, run.probabilities, run.standard_errors, strict=True
                )
            )
    smooth, plain = found[True], found[False]
    assert len(smooth) > 400

    def check(group: list[tuple[int, float, float]]) -> None:
        realised = sum(label for label, _, _ in group)
        expected = sum(p for _, p, _ in group)
        sd = math.sqrt(sum(p * (1 - p) + se * se for _, p, se in group))
        assert abs(realised - expected) < 3.5 * sd, (realised, expected, sd)

    ranked = sorted(smooth, key=lambda row: row[1])
    for group in (smooth, ranked[: len(ranked) // 2], ranked[len(ranked) // 2 :]):
        check(group)
    check(plain)
    difference = sum(p for _, p, _ in smooth) - sum(p for _, p, _ in plain)
    sd = math.sqrt(sum(se * se for _, _, se in smooth + plain))
    assert abs(difference) < 3.5 * sd, (difference, sd)
    # Smoothing: fewer rows with no churning future, a smaller Monte-Carlo error.
    assert sum(p == 0 for _, p, _ in smooth) < sum(p == 0 for _, p, _ in plain)
    assert sum(se for _, _, se in smooth) < 0.8 * sum(se for _, _, se in plain)


def test_the_spark_node_gives_one_probability_per_labelled_row(
    spark: SparkSession, simulator: UserSimulator, simulation_params: dict[str, Any]
):
    rows = [(str(user), cutoff) for user in (3, 5, 11, 12) for cutoff in CUTOFFS[2:4]]
    rows.append(rows[0])  # a duplicate row keeps its own output row
    labelled = spark.createDataFrame(
        [(user, cutoff, 0) for user, cutoff in rows],
        "user_id string, cs long, label int",
    ).select("user_id", F.timestamp_seconds("cs").alias("cutoff"), "label")

    def run() -> list[tuple[str, int, float, int]]:
        result = simulate_churn_probabilities(
            labelled, simulation_params, CHURN_TASK, 3
        )
        assert result.schema == CHURN_PROBABILITY_SCHEMA
        return sorted(
            (
                row.user_id,
                int(row.cutoff.timestamp()),
                row.churn_probability,
                row.futures,
            )
            for row in result.collect()
        )

    first = run()
    assert first == run()
    assert sorted((user, cutoff) for user, cutoff, _, _ in first) == sorted(rows)
    assert all(0.0 <= p <= 1.0 and futures == 3 for _, _, p, futures in first)
    expected = ceiling_run(
        simulator, 5, CUTOFFS[2:4], HORIZON, CHURN, n_futures=3
    ).probabilities
    assert [p for user, _, p, _ in first if user == "5"] == expected
