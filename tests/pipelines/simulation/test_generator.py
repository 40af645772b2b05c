"""The pure-Python generator: one user's stream, without Spark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sparkify_kedro.events import KNOWN_PAGES, RAW_FIELD_NAMES, RAW_FIELDS
from sparkify_kedro.pipelines.simulation import generator
from sparkify_kedro.pipelines.simulation.generator import UserSimulator
from sparkify_kedro.pipelines.simulation.primitives import (
    CANCEL_GATEWAYS,
    PAGE_HTTP,
    double_encode,
)
from sparkify_kedro.pipelines.simulation.profiles import draw_user_profile

_JSON_TYPES = {"long": int, "string": str, "double": float}


@pytest.fixture(scope="module")
def simulator(simulation_params: dict[str, Any]) -> UserSimulator:
    return UserSimulator(simulation_params)


@pytest.fixture(scope="module")
def users_events(simulator: UserSimulator) -> dict[int, list[dict[str, Any]]]:
    """The parsed events of users 1..40 of the default parameters."""
    return {
        user: [json.loads(line) for line in simulator.user_lines(user)]
        for user in range(1, 41)
    }


def test_a_user_stream_depends_only_on_seed_and_user(
    simulation_params: dict[str, Any], simulator: UserSimulator
):
    again = UserSimulator(dict(simulation_params))
    assert simulator.user_lines(7) == again.user_lines(7)
    other_seed = UserSimulator(
        {**simulation_params, "seed": simulation_params["seed"] + 1}
    )
    assert other_seed.user_lines(7) != simulator.user_lines(7)
    assert draw_user_profile(simulation_params, 7) == draw_user_profile(
        simulation_params, 7
    )


def test_lines_have_the_reference_fields_in_order_and_types(
    users_events: dict[int, list[dict[str, Any]]], fixtures_dir
):
    reference = json.loads(
        (fixtures_dir / "sample_events.jsonl").read_text().splitlines()[0]
    )
    assert tuple(reference) == RAW_FIELD_NAMES
    for events in users_events.values():
        for event in events:
            assert tuple(event) == RAW_FIELD_NAMES
            for name, kind in RAW_FIELDS:
                assert event[name] is None or type(event[name]) is _JSON_TYPES[kind], (
                    name
                )


def test_pages_methods_and_statuses_are_those_of_the_real_log(
    users_events: dict[int, list[dict[str, Any]]],
):
    for events in users_events.values():
        for event in events:
            assert event["page"] in KNOWN_PAGES
            assert (event["method"], event["status"]) == PAGE_HTTP[event["page"]]
            assert (event["song"] is not None) == (event["page"] == "NextSong")
            assert (event["artist"] is not None) == (event["page"] == "NextSong")


def test_cancellation_is_last_and_reached_through_a_gateway(
    users_events: dict[int, list[dict[str, Any]]],
):
    for events in users_events.values():
        for before, event in zip(events, events[1:], strict=False):
            if event["page"] == "Cancel":
                assert before["page"] in CANCEL_GATEWAYS
                assert event["ts"] - before["ts"] == 1000
        confirmations = [e for e in events if e["page"] == "Cancellation Confirmation"]
        if confirmations:
            assert events[-1] is confirmations[0]
            assert events[-1]["auth"] == "Cancelled"


def test_double_encoding_matches_the_real_log():
    assert double_encode("Björk") == "BjÃ\x83Â¶rk"


def test_the_generator_does_not_import_the_ceiling():
    """The ceiling builds on the generator, never the reverse: no import circle."""
    for path in Path(generator.__file__).parent.glob("*.py"):
        if path.name != "__init__.py":  # the package also offers the ceiling pipeline
            assert "simulation.ceiling" not in path.read_text(), path.name
