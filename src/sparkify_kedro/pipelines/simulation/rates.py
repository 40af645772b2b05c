"""A session's page-transition tables and chances (``SessionRates``), from the parameters,
a user's profile, level and unhappiness: shared by the generator and the ceiling's futures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sparkify_kedro.pipelines.simulation.primitives import (
    CANCEL_GATEWAYS,
    NEXT_SONG,
    transition_table,
)
from sparkify_kedro.pipelines.simulation.profiles import UserProfile


@dataclass(frozen=True)
class SessionRates:
    """A user's page-transition tables and chances for one session, level and mood."""

    from_song: tuple[list[float], list[str]]
    from_other: tuple[list[float], list[str]]
    end: float
    cancel: dict[str, float]
    submit_downgrade: float
    submit_upgrade: float


def page_weights(params: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The after-song page weights by level (``pages``), times ``page_weight_factors`` (a
    shifted behaviour; none by default)."""
    factors = params["page_weight_factors"] or {}
    unknown = sorted(
        set(factors) - {page for t in params["pages"].values() for page in t}
    )
    if unknown:
        raise ValueError(
            f"page_weight_factors: {unknown} are not pages of the `pages` tables."
        )
    return {
        level: {page: w * float(factors.get(page, 1.0)) for page, w in table.items()}
        for level, table in params["pages"].items()
    }


def session_rates(
    params: dict[str, Any],
    weights_by_level: dict[str, dict[str, float]],
    profile: UserProfile,
    level: str,
    unhappy: float,
) -> SessionRates:
    """Transition tables and chances of a session at ``level`` and unhappiness, from the
    after-song weights of ``page_weights``."""
    churn, upgrade = params["churn"], params["submit_upgrade"]
    weights = dict(weights_by_level[level])
    for page, strength in params["mood_effects"].items():
        if page in weights:
            weights[page] *= math.exp(strength * unhappy)
    back, total = params["return_to_music"], sum(weights.values())
    other = {page: (1 - back) * w / total for page, w in weights.items()}
    other[NEXT_SONG] = other.get(NEXT_SONG, 0.0) + back
    cancel_boost = math.exp(churn["cancel_unhappiness"] * unhappy)
    ad_boost = math.exp(-churn["cancel_ad_tolerance"] * profile.ad_tolerance)
    return SessionRates(
        from_song=transition_table(weights),
        from_other=transition_table(other),
        end=params["session_end"][level]
        * math.exp(params["sessions"]["end_unhappiness"] * unhappy),
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
