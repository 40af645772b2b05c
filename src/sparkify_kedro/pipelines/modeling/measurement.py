"""Measuring nodes of the ``modeling`` pipeline (pandas / numpy), after the choice.

The test figure is the choosing procedure's (``choice.py``) at every origin after the
first, with bootstrap intervals resampling users, paired with the baselines on the same
rows; every candidate keeps its rolling-origin figures as validation figures.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from sparkify_kedro import evaluation
from sparkify_kedro.columns import CUTOFF, LABEL, MODEL, SCORE, USER
from sparkify_kedro.pipelines.modeling.choice import (
    PREDICTION,
    predict,
    prequential_predictions,
    scores_on,
    threshold_of,
)
from sparkify_kedro.pipelines.modeling.nodes import BASELINE

#: The test metrics of every model, each with its bootstrap interval.
METRIC_COLUMNS = list(evaluation.BOOTSTRAP_METRICS)
#: Each metric followed by the bounds of its interval.
WITH_INTERVALS = [f"{m}{end}" for m in METRIC_COLUMNS for end in ("", "_low", "_high")]
#: The name of the choosing procedure in every table.
PROCEDURE = "procedure"


def _metrics_with_intervals(
    rows: pd.DataFrame,
    scores: dict[str, np.ndarray],
    predictions: dict[str, np.ndarray],
    evaluation_params: dict[str, Any],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, np.ndarray]]]:
    """Point metrics and bootstrap intervals (users resampled) of every model on ``rows``,
    and the bootstrap draws (paired across models)."""
    labels = rows[LABEL].to_numpy(dtype=int)
    users = pd.factorize(rows[USER])[0]
    draws = evaluation.bootstrap_metrics(
        labels,
        scores,
        predictions,
        users,
        evaluation_params["bootstrap_resamples"],
        evaluation_params["seed"],
        METRIC_COLUMNS,
    )
    figures = {}
    for model, model_scores in scores.items():
        point = evaluation.evaluate_scores(labels, model_scores, predictions[model])
        for metric in METRIC_COLUMNS:
            low, high = evaluation.percentile_interval(
                draws[model][metric], evaluation_params["confidence"]
            )
            point[f"{metric}_low"], point[f"{metric}_high"] = low, high
        figures[model] = point
    return figures, draws


def _metric_row(figures: dict[str, float]) -> dict[str, Any]:
    return {
        **{key: figures[key] for key in WITH_INTERVALS},
        "n_rows": figures["n_rows"],
        "churners": figures["n_churners"],
    }


def _test_figures(
    candidate_scores: pd.DataFrame,
    procedure_test_scores: pd.DataFrame,
    baselines: list[dict[str, Any]],
    origins: list[str],
    evaluation_params: dict[str, Any],
) -> tuple[dict, dict]:
    """(figures, draws) of the procedure and the baselines on the test rows, the
    baselines used as the procedure is (thresholds from earlier origins)."""
    rows = procedure_test_scores[[USER, CUTOFF, LABEL]].reset_index(drop=True)
    scores = {PROCEDURE: procedure_test_scores[SCORE].to_numpy(dtype=float)}
    predictions = {PROCEDURE: procedure_test_scores[PREDICTION].to_numpy(dtype=int)}
    for baseline in baselines:
        used = prequential_predictions(candidate_scores, baseline, origins)
        if not used[[USER, CUTOFF, LABEL]].equals(rows):
            raise ValueError(f"{baseline[MODEL]} scored other test rows.")
        scores[baseline[MODEL]] = used[SCORE].to_numpy(dtype=float)
        predictions[baseline[MODEL]] = used[PREDICTION].to_numpy(dtype=int)
    return _metrics_with_intervals(rows, scores, predictions, evaluation_params)


def _validation_figures(
    candidate_scores: pd.DataFrame,
    candidates: dict[str, dict[str, Any]],
    origins: list[str],
    evaluation_params: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Every candidate's figures on all the origins it scored (pooled, within-cutoff
    ranks), paired among the candidates that scored the same origins; thresholds from
    the same scores."""
    reached = candidate_scores.groupby(MODEL)[CUTOFF].nunique()
    figures: dict[str, dict[str, Any]] = {}
    for count in sorted(reached.unique()):
        rows, wide = scores_on(candidate_scores, origins[:count])
        members = [m for m in wide.columns if reached[m] == count]
        labels = rows[LABEL].to_numpy(dtype=int)
        thresholds = {
            m: threshold_of(candidates[m], labels, wide[m].to_numpy()) for m in members
        }
        ranks = evaluation.within_group_ranks(wide, rows[CUTOFF].to_numpy())
        group, _ = _metrics_with_intervals(
            rows,
            {m: ranks[m].to_numpy(dtype=float) for m in members},
            {m: predict(wide[m].to_numpy(), thresholds[m]) for m in members},
            evaluation_params,
        )
        for model in members:
            figures[model] = {
                **group[model],
                "origins_scored": int(count),
                "threshold": thresholds[model],
            }
    return figures


def _per_origin_rows(
    candidate_scores: pd.DataFrame,
    procedure_test_scores: pd.DataFrame,
    candidates: dict[str, dict[str, Any]],
    origins: list[str],
    evaluation_params: dict[str, Any],
) -> list[dict[str, Any]]:
    """Figures at each origin: the procedure's (test, at origins after the first) and
    every candidate's that scored it (validation, thresholds from their own scores)."""
    table = []
    for index, cutoff in enumerate(origins):
        rows, wide = scores_on(candidate_scores, [cutoff])
        labels = rows[LABEL].to_numpy(dtype=int)
        scores = {m: wide[m].to_numpy(dtype=float) for m in wide.columns}
        predictions = {
            m: predict(s, threshold_of(candidates[m], labels, s))
            for m, s in scores.items()
        }
        picked = None
        if index:
            at = procedure_test_scores[
                procedure_test_scores[CUTOFF] == pd.Timestamp(cutoff)
            ]
            ordered = rows[[CUTOFF, USER]].merge(at, on=[CUTOFF, USER], how="left")
            scores[PROCEDURE] = ordered[SCORE].to_numpy(dtype=float)
            predictions[PROCEDURE] = ordered[PREDICTION].to_numpy(dtype=int)
            (picked,) = at[MODEL].unique()
        figures, _ = _metrics_with_intervals(
            rows, scores, predictions, evaluation_params
        )
        for model, f in figures.items():
            table.append(
                {
                    "origin": pd.Timestamp(cutoff).isoformat(),
                    MODEL: model,
                    "figure": "test" if model == PROCEDURE else "validation",
                    "picked": picked if model == PROCEDURE else None,
                    **_metric_row(f),
                }
            )
    return table


def evaluate_models(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    candidate_scores: pd.DataFrame,
    procedure_test_scores: pd.DataFrame,
    model_candidates: list[dict[str, Any]],
    best_model_choice: dict[str, Any],
    split_summary: dict[str, Any],
    evaluation_params: dict[str, Any],
    probability_calibration: dict[str, Any],
    training_feature_profile: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """The procedure's test figures, every candidate's validation figures and paired
    comparisons, with bootstrap intervals resampling users (``bootstrap_resamples``
    times, at ``confidence``).

    Returns ``model_metrics`` (the procedure and the baselines on the test rows, the
    procedure's ``params`` its pick per test cutoff; then every candidate on the origins
    it scored, ``validation_rank`` 1 the best of those that scored every origin,
    ``chosen`` the deployed one with its ``expected_calibration_error``), the same
    metrics per origin, ``model_comparison`` (paired AUC-PR differences: procedure minus
    each baseline on the test rows, deployed minus best on validation) and
    ``best_model_info`` (the choice, the procedure's test metrics, the comparison's
    verdicts, the ``probability_calibration`` and the training ``feature_profile``).
    """
    candidates = {c[MODEL]: c for c in model_candidates}
    origins = split_summary["origin_cutoffs"]
    baselines = [c for c in model_candidates if c["feature_set"] == BASELINE]
    test, draws = _test_figures(
        candidate_scores, procedure_test_scores, baselines, origins, evaluation_params
    )
    picks = (
        procedure_test_scores.drop_duplicates(CUTOFF)
        .set_index(CUTOFF)[MODEL]
        .rename(index=lambda cutoff: pd.Timestamp(cutoff).isoformat())
        .to_dict()
    )
    test_lines = [
        (PROCEDURE, PROCEDURE, "rolling_origin_choice", json.dumps(picks)),
        *(
            (
                b[MODEL],
                BASELINE,
                b["algorithm"],
                json.dumps(b["estimator_params"], sort_keys=True),
            )
            for b in baselines
        ),
    ]
    table = [
        {
            MODEL: model,
            "feature_set": feature_set,
            "algorithm": algorithm,
            "figure": "test",
            "chosen": False,
            "validation_rank": None,
            "origins_scored": len(origins) - 1,
            **_metric_row(test[model]),
            "threshold": None,
            "params": params,
        }
        for model, feature_set, algorithm, params in test_lines
    ]
    validation = _validation_figures(
        candidate_scores, candidates, origins, evaluation_params
    )
    ranked = sorted(
        validation,
        key=lambda m: (
            -validation[m]["origins_scored"],
            -np.nan_to_num(validation[m]["auc_pr"], nan=-1.0),
            candidates[m]["simplicity"],
        ),
    )
    for rank, model in enumerate(ranked, start=1):
        candidate = candidates[model]
        table.append(
            {
                MODEL: model,
                "feature_set": candidate["feature_set"],
                "algorithm": candidate["algorithm"],
                "figure": "validation",
                "chosen": model == best_model_choice["name"],
                "validation_rank": rank,
                "origins_scored": validation[model]["origins_scored"],
                **_metric_row(validation[model]),
                "threshold": validation[model]["threshold"],
                "params": json.dumps(candidate["estimator_params"], sort_keys=True),
                "expected_calibration_error": (
                    probability_calibration["test"]["expected_calibration_error"]
                    if model == best_model_choice["name"]
                    else None
                ),
            }
        )
    confidence = evaluation_params["confidence"]
    paired = [
        {
            "comparison": f"{PROCEDURE} - {baseline[MODEL]}",
            "figure": "test",
            "against": "baseline",
            "other": baseline[MODEL],
            "metric": "auc_pr",
            **evaluation.paired_difference_interval(
                draws[PROCEDURE]["auc_pr"], draws[baseline[MODEL]]["auc_pr"], confidence
            ),
        }
        for baseline in baselines
    ]
    chosen_by = best_model_choice["chosen_by"]
    comparison = {
        "metric": "auc_pr",
        "confidence": confidence,
        "bootstrap_resamples": evaluation_params["bootstrap_resamples"],
        "resampled": "users (all of a user's rows together)",
        "test_cutoffs": split_summary["test_cutoffs"],
        "first_origin": origins[0],
        "first_origin_note": "validation only: no earlier origin to choose from",
        "procedure_picks": picks,
        "best_model": best_model_choice["name"],
        "best_model_kind": best_model_choice["kind"],
        "chosen_by": chosen_by,
        "paired_differences": [
            *paired,
            {
                "comparison": f"{best_model_choice['name']} - "
                f"{chosen_by['best_on_validation']}",
                "figure": "validation",
                "against": "best_on_validation",
                "other": chosen_by["best_on_validation"],
                "metric": "auc_pr",
                **chosen_by["difference_with_best"],
            },
        ],
        "procedure_beats_baselines": all(entry["low"] > 0 for entry in paired),
        "procedure_beats_rule": any(
            entry["low"] > 0 for entry in paired if entry["other"].endswith("one_rule")
        ),
    }
    rolling = _per_origin_rows(
        candidate_scores, procedure_test_scores, candidates, origins, evaluation_params
    )
    model_metrics = pd.DataFrame(table)
    best_model_info = {
        **best_model_choice,
        "test_cutoffs": split_summary["test_cutoffs"],
        "test_metrics_of": "the choosing procedure: at each test cutoff, the candidate "
        "chosen from the earlier origins only",
        "test_metrics": {
            key: test[PROCEDURE][key]
            for key in (*WITH_INTERVALS, "n_rows", "n_churners")
        },
        "procedure_picks": picks,
        "procedure_beats_baselines": comparison["procedure_beats_baselines"],
        "procedure_beats_rule": comparison["procedure_beats_rule"],
        "probability_calibration": probability_calibration,
        "feature_profile": training_feature_profile,
    }
    return model_metrics, pd.DataFrame(rolling), comparison, best_model_info


def build_best_model_test_curve(
    procedure_test_scores: pd.DataFrame, test_curve_points: int
) -> pd.DataFrame:
    """The procedure's ranking curve on its test rows (every test cutoff pooled).

    Scores are rounded down to multiples of ``1 / test_curve_points``: at most
    ``test_curve_points + 1`` thresholds after the starting row, whatever the number of
    users (columns of :func:`sparkify_kedro.evaluation.ranking_curve`).
    """
    return evaluation.ranking_curve(
        procedure_test_scores[LABEL].to_numpy(),
        procedure_test_scores[SCORE].to_numpy(),
        test_curve_points,
    )


def summarise_model_metrics(
    model_metrics: pd.DataFrame,
    split_summary: dict[str, Any],
    model_comparison: dict[str, Any],
) -> dict[str, Any]:
    """The metrics table as JSON, with the rolling-origin plan and the paired comparison."""
    return {
        "primary_metric": "auc_pr",
        "split": split_summary,
        **model_comparison,
        "models": json.loads(model_metrics.to_json(orient="records")),
    }
