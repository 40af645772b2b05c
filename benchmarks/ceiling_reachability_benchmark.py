"""How much of the ceiling can any model reach from the log? Learners fed the true answer.

The ceiling (``pipelines/simulation/ceiling/``) ranks test rows by the simulator's own churn
probability, computed from each user's *complete* state at the cutoff: latent traits
(satisfaction, price sensitivity, ad tolerance, engagement), the position of the mood's
random walk, the decline to come. A model sees only the log. This benchmark asks how far
the log's information reaches, with a learner far stronger than any real one: a gradient-
boosted regressor (scikit-learn's ``HistGradientBoostingRegressor``) trained on the test
rows' **true probabilities** (no label noise), cross-fitted with folds grouped by user,
then scored like every model: expected AUC-PR over labels redrawn from the probabilities
(``evaluation.expected_auc_pr``, the pipeline's own figure), and its ratio to the ceiling.

Inputs, in the order they see more of the truth:

1. ``project features``: the columns of ``model_input_table`` (every feature group);
2. ``+ per-session mood estimates``: exponentially weighted means over the user's
   sessions before the cutoff (weights 0.1 and 0.3 per session, the mood walk forgets 0.1
   per session) of the mood-driven rates (thumbs down, thumbs up, playlist adds and
   warning pages per song), of session length and of the gap between sessions, and the
   time since the last session;
3. ``latent traits (control)``: the simulator's per-user traits from
   ``simulation_truth`` and the decline's progress at the cutoff, plus level and recent
   activity; not the mood walk, not the advert penalty. This row checks the learner: if
   it reaches the ceiling's neighbourhood here, a gap in rows 1-2 is missing information,
   not a weak learner.

Reads a data root written by ``benchmarks/model_quality_benchmark.py`` (the demo flow,
with the ceiling's probabilities of the test rows) and writes ``docs/ceiling_reachability.md``::

    python benchmarks/model_quality_benchmark.py --users 2000 --no-results
    python benchmarks/ceiling_reachability_benchmark.py --data-root /tmp/sparkify_quality_2000_42
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from model_quality_benchmark import commit_label, machine_label
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold

from sparkify_kedro import evaluation
from sparkify_kedro.pipelines.simulation.nodes import PROFILE_TRAITS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REPORT = PROJECT_ROOT / "docs" / "ceiling_reachability.md"
KEYS = ["user_id", "cutoff"]
#: Pages whose rate moves with the mood (simulation parameters ``mood_effects``).
MOOD_RATES = {
    "thumbs_down": ["Thumbs Down"],
    "thumbs_up": ["Thumbs Up"],
    "playlist": ["Add to Playlist"],
    "warnings": ["Settings", "Downgrade", "Help"],
}
SESSION_WEIGHTS = (0.1, 0.3)
FOLDS, DRAWS, SEED = 5, 1000, 0


def session_table(clean_events: pd.DataFrame) -> pd.DataFrame:
    """One row per (user, session): start, end, mood-driven rates per song, length, gap."""
    events = clean_events.assign(
        songs=clean_events["page"].eq("NextSong"),
        **{
            rate: clean_events["page"].isin(pages) for rate, pages in MOOD_RATES.items()
        },
    )
    sessions = (
        events.groupby(["user_id", "session_id"])
        .agg(
            start=("ts", "min"),
            end=("ts", "max"),
            events=("page", "size"),
            songs=("songs", "sum"),
            **{rate: (rate, "sum") for rate in MOOD_RATES},
        )
        .reset_index()
        .sort_values(["user_id", "start"], ignore_index=True)
    )
    for rate in MOOD_RATES:
        sessions[rate] = sessions[rate] / (sessions["songs"] + 1)
    sessions["log_events"] = np.log1p(sessions["events"])
    sessions["gap_days"] = (
        sessions.groupby("user_id")["start"].diff().dt.total_seconds() / 86400
    )
    return sessions


def mood_estimates(sessions: pd.DataFrame, cutoffs: list[pd.Timestamp]) -> pd.DataFrame:
    """Per (user, cutoff): the session EWMAs of the mood-driven signals before the cutoff.

    An EWMA's value at a session depends on that session and the earlier ones only, so each
    is computed once along every user's sessions (as is the latest session end so far); a
    cutoff reads the row of each user's last session started before it.
    """
    signals = [*MOOD_RATES, "log_events", "gap_days"]
    by_user = sessions.groupby("user_id")
    running = sessions[["user_id", "start"]].copy()
    for weight in SESSION_WEIGHTS:
        for signal in signals:
            running[f"{signal}_ewm_{weight}"] = by_user[signal].transform(
                lambda values, w=weight: values.ewm(alpha=w).mean()
            )
    latest_end = by_user["end"].cummax()
    frames = []
    for cutoff in cutoffs:
        before = running["start"] < cutoff
        last = running[before].groupby("user_id").tail(1)
        frames.append(
            last.drop(columns="start").assign(
                days_since_last_session=(
                    cutoff - latest_end[last.index]
                ).dt.total_seconds()
                / 86400,
                cutoff=cutoff,
            )
        )
    return pd.concat(frames, ignore_index=True)


def latent_state(rows: pd.DataFrame, truth: pd.DataFrame, start: str) -> pd.DataFrame:
    """The simulator's traits and the decline's progress (weeks, rate) at each cutoff."""
    state = rows[KEYS].merge(
        truth[["user_id", *PROFILE_TRAITS, "decline_start", "decline_rate"]],
        on="user_id",
    )
    weeks_declining = (
        ((state["cutoff"] - state["decline_start"]).dt.total_seconds() / 604800)
        .fillna(0.0)
        .clip(lower=0.0)
    )
    weeks_in = (state["cutoff"] - pd.Timestamp(start)).dt.total_seconds() / 604800
    state["weeks_declining"] = weeks_declining
    state["decline_rate_now"] = np.where(
        weeks_declining > 0, state["decline_rate"].fillna(0.0), 0.0
    )
    state["mood_without_walk"] = (
        state["satisfaction"]
        + state["satisfaction_trend"] * weeks_in
        - state["decline_rate_now"] * weeks_declining
    )
    return state.drop(columns=["decline_start", "decline_rate"])


def cross_fitted(
    features: pd.DataFrame, target: np.ndarray, users: pd.Series
) -> np.ndarray:
    """Out-of-fold predictions of a boosted regressor of ``target``, folds grouped by user."""
    encoded = features.copy()
    for column in encoded.columns:
        if not pd.api.types.is_numeric_dtype(encoded[column]):
            encoded[column] = encoded[column].astype("category").cat.codes
    predictions = np.zeros(len(target))
    for train, test in GroupKFold(FOLDS).split(encoded, target, users):
        learner = HistGradientBoostingRegressor(
            max_iter=300, learning_rate=0.05, random_state=SEED
        )
        learner.fit(encoded.iloc[train], target[train])
        predictions[test] = learner.predict(encoded.iloc[test])
    return predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-root", type=Path, default=Path("/tmp/sparkify_quality_2000_42")
    )
    parser.add_argument("--start", default="2018-10-01", help="simulation.start")
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="do not write docs/ceiling_reachability.md",
    )
    args = parser.parse_args()
    root = args.data_root
    load_before = os.getloadavg()[0]
    began = time.perf_counter()

    probabilities = pd.read_parquet(
        root / "05_model_input" / "simulated_churn_probabilities.parquet"
    )
    table = pd.read_parquet(root / "05_model_input" / "model_input_table.parquet")
    rows = table.merge(probabilities[[*KEYS, "churn_probability"]], on=KEYS)
    project = [c for c in table.columns if c not in {*KEYS, "label", "churn_type"}]
    events = pd.read_parquet(
        root / "03_primary" / "clean_events.parquet",
        columns=["ts", "user_id", "session_id", "page"],
    )
    sessions = session_table(events[events["user_id"].isin(set(rows["user_id"]))])
    moods = mood_estimates(sessions, sorted(rows["cutoff"].unique()))
    rows = rows.merge(moods, on=KEYS, how="left")
    truth = pd.read_parquet(root / "02_intermediate" / "simulation_truth.parquet")
    state = latent_state(rows, truth, args.start)
    rows = rows.merge(state, on=KEYS)

    inputs = {
        "project features": project,
        "+ per-session mood estimates": [*project, *moods.columns.drop(KEYS)],
        "latent traits (control)": [
            *state.columns.drop(KEYS),
            "level_at_cutoff",
            "songs_per_day_recent",
            "days_since_last_event",
        ],
    }
    target = rows["churn_probability"].to_numpy()
    scores = {
        name: cross_fitted(rows[columns], target, rows["user_id"])
        for name, columns in inputs.items()
    }
    scores["one rule (thumbs down per song)"] = (
        rows["thumbs_down_per_song"].fillna(rows["thumbs_down_per_song"].median())
    ).to_numpy()
    expected = evaluation.expected_auc_pr(target, scores, DRAWS, SEED)
    ceiling = float(expected[evaluation.CEILING]["mean"])
    labels = {"ceiling (the simulator's probabilities)": evaluation.CEILING}
    labels |= {name: name for name in scores}
    lines = [
        "| scores | expected AUC-PR [95 % Monte-Carlo interval] | / ceiling |",
        "|---|---|---|",
        *(
            f"| {label} | {float(expected[key]['mean']):.3f} "
            f"[{float(expected[key]['mean']) - 1.96 * float(expected[key]['sem']):.3f}, "
            f"{float(expected[key]['mean']) + 1.96 * float(expected[key]['sem']):.3f}] "
            f"| {float(expected[key]['mean']) / ceiling:.2f} |"
            for label, key in labels.items()
        ),
    ]
    header = (
        f"{len(rows):,} test rows of {rows['user_id'].nunique():,} users "
        f"({root}); commit {commit_label()}, "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; {machine_label()}, "
        f"load average {load_before:.1f} before; {time.perf_counter() - began:.0f} s."
    )
    print(header, *lines, sep="\n")  # noqa: T201
    if not args.no_report:
        REPORT.write_text(
            "# How much of the ceiling the log holds\n\n"
            "Generated by `benchmarks/ceiling_reachability_benchmark.py` (its docstring says "
            "what each row is); do not edit by hand. A boosted regressor is trained, "
            "cross-fitted by user, on the test rows' *true* churn probabilities, from "
            "inputs that see more and more of the simulator's state. The intervals are the "
            f"Monte-Carlo error of each expectation over {DRAWS:,} label draws (the same "
            "draws for every row), not a resampling of users.\n\n"
            f"{header}\n\n" + "\n".join(lines) + "\n"
        )


if __name__ == "__main__":
    main()
