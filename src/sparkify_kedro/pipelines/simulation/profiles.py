"""A simulated user's profile: who they are and their latent traits (see ``generator``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparkify_kedro.pipelines.simulation.primitives import (
    DAY,
    VOCABULARY,
    WEEK,
    epoch_seconds,
)


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


def skewed_index(rng: np.random.Generator, n: int, exponent: float = 1.0) -> int:
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
    firsts = VOCABULARY["male_first_names" if gender == "M" else "female_first_names"]
    first_name = firsts[int(rng.integers(len(firsts)))]
    lasts, places = VOCABULARY["last_names"], VOCABULARY["locations"]
    last_name = lasts[int(rng.integers(len(lasts)))]
    location = places[skewed_index(rng, len(places), 0.8)]
    agents = VOCABULARY["user_agents"]
    user_agent = agents[skewed_index(rng, len(agents), 1.0)]
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
