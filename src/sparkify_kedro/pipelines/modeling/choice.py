"""How a candidate is chosen from out-of-time scores, and the choosing procedure's own test.

The rule (:func:`choose`): on the validation rows, the candidate with the best AUC-PR is
*the best*; every candidate whose paired difference with it (a bootstrap over users, the
same resamples for all) has an interval reaching 0 is tied with it; the simplest of those
(``simplicity``) wins, which does not keep the best point figure's luck. Its threshold
maximises F1 on its validation scores. :func:`select_best_model` applies the rule to every
origin's scores; :func:`replay_choice_procedure` tests it: at each origin after the first,
the rule chooses from the earlier origins only, and the pick's scores there are the
procedure's test scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sparkify_kedro import evaluation
from sparkify_kedro.columns import CUTOFF, LABEL, MODEL, PREDICTION, SCORE, USER
from sparkify_kedro.pipelines.modeling.nodes import BASE_RATE, ONE_RULE

#: The columns of the procedure's test scores (one row per test (user, cutoff)).
PROCEDURE_SCORE_COLUMNS = [USER, CUTOFF, LABEL, SCORE, PREDICTION, MODEL]


def scores_on(
    candidate_scores: pd.DataFrame, cutoffs: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, wide scores) at ``cutoffs``: the (user, cutoff, label) rows in a stable
    order and one column of scores per model that scored every one of them (a candidate
    halved away before one of the cutoffs is left out)."""
    at = candidate_scores[candidate_scores[CUTOFF].isin(pd.to_datetime(cutoffs))]
    wide = at.pivot(index=[CUTOFF, USER], columns=MODEL, values=SCORE).sort_index()
    wide = wide.dropna(axis="columns")
    labels = at.drop_duplicates([CUTOFF, USER]).set_index([CUTOFF, USER])[LABEL]
    rows = labels.reindex(wide.index).reset_index()
    return rows, wide.reset_index(drop=True)


def within_origin_ranks(frame: pd.DataFrame) -> pd.Series:
    """Each row's score as its mid-rank within its cutoff, scaled into (0, 1)
    (``evaluation.within_group_ranks``), so that scores of models fitted at different
    origins pool into one ranking. Every pooled figure of the modeling pipeline ranks
    this way."""
    return evaluation.within_group_ranks(frame[SCORE], frame[CUTOFF])


def threshold_of(candidate: dict[str, Any], labels: np.ndarray, scores: np.ndarray):
    """The decision threshold of a candidate: the best-F1 threshold on its validation
    scores; ``None`` for the base rate (it predicts "no churn" for everyone)."""
    if candidate["algorithm"] == BASE_RATE:
        return None
    return evaluation.best_f1_threshold(labels, scores)


def predict(scores: np.ndarray, threshold: float | None) -> np.ndarray:
    """0/1 predictions: churn when the score reaches ``threshold`` (none when ``None``)."""
    if threshold is None:
        return np.zeros(len(scores), dtype=int)
    return (np.asarray(scores) >= threshold).astype(int)


def _as_used(at: pd.DataFrame, threshold: float | None) -> pd.DataFrame:
    """Scores at one cutoff with their ``prediction`` at ``threshold``, as ranks."""
    return at.assign(
        **{PREDICTION: predict(at[SCORE], threshold), SCORE: within_origin_ranks(at)}
    )


def _by_row(frames: list[pd.DataFrame]) -> pd.DataFrame:
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values([CUTOFF, USER], ignore_index=True)[PROCEDURE_SCORE_COLUMNS]


def choose(
    rows: pd.DataFrame,
    wide: pd.DataFrame,
    candidates: dict[str, dict[str, Any]],
    evaluation_params: dict[str, Any],
) -> dict[str, Any]:
    """The rule of the module doc on the validation ``rows`` (``wide``: a column of scores
    per model, :func:`scores_on`).

    Returns ``pick`` (the chosen model), ``best`` (the best point AUC-PR), ``auc_pr`` of
    every model, ``difference_with_best`` (paired interval of pick-minus-best and of every
    model), ``tied_with_best`` (the models whose interval reaches 0, simplest first) and
    the pick's ``threshold``.
    """
    labels = rows[LABEL].to_numpy(dtype=int)
    users = pd.factorize(rows[USER])[0]
    ranks = evaluation.within_group_ranks(wide, rows[CUTOFF].to_numpy())
    scores = {model: ranks[model].to_numpy(dtype=float) for model in wide.columns}
    point = {model: evaluation.auc_pr(labels, s) for model, s in scores.items()}
    best = min(
        scores,
        key=lambda m: (-np.nan_to_num(point[m], nan=-1.0), candidates[m]["simplicity"]),
    )
    draws = evaluation.bootstrap_metrics(
        labels,
        scores,
        None,
        users,
        evaluation_params["bootstrap_resamples"],
        evaluation_params["seed"],
        ["auc_pr"],
    )
    differences = {
        model: evaluation.paired_difference_interval(
            draws[model]["auc_pr"],
            draws[best]["auc_pr"],
            evaluation_params["confidence"],
        )
        for model in scores
    }
    tied = sorted(
        (m for m in scores if m == best or differences[m]["high"] >= 0),
        key=lambda m: candidates[m]["simplicity"],
    )
    pick = tied[0]
    return {
        "pick": pick,
        "best": best,
        "auc_pr": point,
        "difference_with_best": differences,
        "tied_with_best": tied,
        "threshold": threshold_of(candidates[pick], labels, wide[pick].to_numpy()),
    }


def _in_words(choice: dict[str, Any], confidence: float, origins: list[str]) -> str:
    pick, best = choice["pick"], choice["best"]
    where = f"AUC-PR on the out-of-time scores of {len(origins)} origins pooled"
    if pick == best:
        others = len(choice["tied_with_best"]) - 1
        return (
            f"{pick} has the best {where} ({choice['auc_pr'][pick]:.3f}); "
            f"{others} other candidate{'s are' if others > 1 else ' is'} within the "
            "noise of it, none simpler."
            if others
            else f"{pick} has the best {where} ({choice['auc_pr'][pick]:.3f}), and "
            "every other candidate is below it beyond the noise."
        )
    difference = choice["difference_with_best"][pick]
    return (
        f"{best} has the best {where} ({choice['auc_pr'][best]:.3f}), but {pick} "
        f"({choice['auc_pr'][pick]:.3f}) is as good given the noise (paired difference "
        f"{difference['mean_difference']:+.3f}, {confidence:.0%} interval "
        f"[{difference['low']:+.3f}, {difference['high']:+.3f}] reaches 0) and simpler: "
        f"of {len(choice['tied_with_best'])} candidates tied with the best, the simplest "
        f"wins."
    )


def select_best_model(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    candidate_scores: pd.DataFrame,
    model_candidates: list[dict[str, Any]],
    split_summary: dict[str, Any],
    evaluation_params: dict[str, Any],
    churn_task: dict[str, Any],
    feature_params: dict[str, Any],
) -> dict[str, Any]:
    """The deployed candidate: the rule of the module doc on every origin's scores
    pooled, among the candidates that scored every origin.

    Returns what refits and describes it (``name``, ``kind``: ``classifier``, ``rule`` or
    ``base_rate``, algorithm, feature set and columns, estimator parameters, threshold),
    ``chosen_by`` (the figures and the reason in words), and the ``churn_task`` and
    feature parameters it was trained with, which scoring uses.
    """
    candidates = {c[MODEL]: c for c in model_candidates}
    origins = split_summary["origin_cutoffs"]
    rows, wide = scores_on(candidate_scores, origins)
    choice = choose(rows, wide, candidates, evaluation_params)
    chosen = candidates[choice["pick"]]
    kinds = {BASE_RATE: "base_rate", ONE_RULE: "rule"}
    return {
        "name": chosen[MODEL],
        "kind": kinds.get(chosen["algorithm"], "classifier"),
        **{
            key: chosen[key]
            for key in (
                "algorithm",
                "feature_set",
                "estimator",
                "feature_columns",
                "estimator_params",
                "simplicity",
            )
        },
        "threshold": choice["threshold"],
        "chosen_by": {
            "metric": "auc_pr",
            "on": "rolling-origin validation scores, every origin pooled",
            "origins": origins,
            "value": choice["auc_pr"][choice["pick"]],
            "best_on_validation": choice["best"],
            "best_value": choice["auc_pr"][choice["best"]],
            "difference_with_best": choice["difference_with_best"][choice["pick"]],
            "tied_with_best": choice["tied_with_best"],
            "candidates_compared": list(wide.columns),
            "reason": _in_words(choice, evaluation_params["confidence"], origins),
        },
        "churn_task": churn_task,
        "feature_params": feature_params,
    }


def replay_choice_procedure(
    candidate_scores: pd.DataFrame,
    model_candidates: list[dict[str, Any]],
    split_summary: dict[str, Any],
    evaluation_params: dict[str, Any],
) -> pd.DataFrame:
    """The choosing procedure's test scores: at each origin after the first, the rule
    chooses from the earlier origins' scores only (among the candidates that go on to
    that origin); the pick's scores there, thresholded at its threshold from the earlier
    origins, are the procedure's.

    One row per test (user, cutoff): ``user_id``, ``cutoff``, ``label``, ``score`` (a
    rank within the cutoff, :func:`within_origin_ranks`), ``prediction``, ``model``.
    """
    candidates = {c[MODEL]: c for c in model_candidates}
    origins = split_summary["origin_cutoffs"]
    frames = []
    for index, cutoff in enumerate(origins[1:], start=1):
        rows, wide = scores_on(candidate_scores, origins[:index])
        going_on = set(
            candidate_scores.loc[
                candidate_scores[CUTOFF] == pd.Timestamp(cutoff), MODEL
            ].unique()
        )
        choice = choose(
            rows,
            wide[[m for m in wide.columns if m in going_on]],
            candidates,
            evaluation_params,
        )
        picked = candidate_scores[
            (candidate_scores[MODEL] == choice["pick"])
            & (candidate_scores[CUTOFF] == pd.Timestamp(cutoff))
        ]
        frames.append(_as_used(picked, choice["threshold"]))
    return _by_row(frames)


def prequential_predictions(
    candidate_scores: pd.DataFrame,
    candidate: dict[str, Any],
    origins: list[str],
) -> pd.DataFrame:
    """One candidate's scores at the test origins (every origin after the first), each
    thresholded at its best-F1 threshold on the earlier origins' scores: how the
    candidate would have been used, with no look at the rows it predicts. Scores are
    percentile ranks within their cutoff, as the procedure's."""
    own = candidate_scores[candidate_scores[MODEL] == candidate[MODEL]]
    frames = []
    for index, cutoff in enumerate(origins[1:], start=1):
        earlier = own[own[CUTOFF].isin(pd.to_datetime(origins[:index]))]
        threshold = threshold_of(
            candidate, earlier[LABEL].to_numpy(dtype=int), earlier[SCORE].to_numpy()
        )
        frames.append(_as_used(own[own[CUTOFF] == pd.Timestamp(cutoff)], threshold))
    return _by_row(frames)
