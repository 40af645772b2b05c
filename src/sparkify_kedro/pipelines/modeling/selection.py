"""Choosing nodes of the ``modeling`` pipeline (plain pandas): the tuned models' results
and test scores gathered from every feature set, and the (algorithm, feature set) chosen on
its cross-validated AUC-PR on the tuning cutoffs alone (``measurement.py`` then measures
every model on the test cutoffs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sparkify_kedro import evaluation
from sparkify_kedro.pipelines.modeling.nodes import (
    SELECTION_METRIC,
    TEST_SCORE_COLUMNS,
)

BASELINE = evaluation.BASELINE
#: Separates feature set and algorithm in the keyword names of the collecting nodes.
RESULT_KEY_SEPARATOR = "__"


def collect_model_results(**results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every model's result, grouped by feature set: ``{feature_set: [result, ...]}``.

    Keyword names are ``<feature_set>__<algorithm>``; results keep the order given.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for key, result in results.items():
        feature_set, algorithm = _split_key(key)
        grouped.setdefault(feature_set, []).append(result)
    return grouped


def _split_key(key: str) -> tuple[str, str]:
    feature_set, _, algorithm = key.partition(RESULT_KEY_SEPARATOR)
    if not algorithm:
        raise ValueError(
            f"Result '{key}' is not named <feature_set>{RESULT_KEY_SEPARATOR}<algorithm>."
        )
    return feature_set, algorithm


def collect_test_scores(
    baseline_test_scores: pd.DataFrame, **model_test_scores: pd.DataFrame
) -> pd.DataFrame:
    """Every model's and baseline's test scores in one long table.

    Columns ``feature_set``, ``algorithm`` (the estimator's name, or the baseline's),
    then ``user_id``, ``cutoff``, ``label``, ``score``, ``prediction``. Keyword names are
    ``<feature_set>__<algorithm>`` as in :func:`collect_model_results`.
    """
    frames = [baseline_test_scores, *model_test_scores.values()]
    feature_sets = [BASELINE, *(_split_key(key)[0] for key in model_test_scores)]
    # One copy of the rows, in the output's column order (the first frame sets it): the
    # table has a row per model, test cutoff and user, the largest frame of the driver.
    columns = ["algorithm", *TEST_SCORE_COLUMNS]
    table = pd.concat([frames[0][columns], *frames[1:]], ignore_index=True)
    names = np.array(feature_sets, dtype=object)
    table.insert(0, "feature_set", np.repeat(names, [len(frame) for frame in frames]))
    return table


def _flatten(
    model_results: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Every model result in one list, each tagged with its ``feature_set``."""
    return [
        {"feature_set": feature_set, **result}
        for feature_set, results in model_results.items()
        for result in results
    ]


def ranked_on_validation(
    model_results: dict[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Every model, best validation figure (``cv_auc_pr``) first; ties keep the order
    of the results (feature sets, then algorithms, as the pipeline lists them)."""
    return sorted(_flatten(model_results), key=lambda result: -result[SELECTION_METRIC])


def select_best_model(
    model_results: dict[str, list[dict[str, Any]]],
    churn_task: dict[str, Any],
    feature_params: dict[str, Any],
) -> dict[str, Any]:
    """The (algorithm, feature set) with the best cross-validated AUC-PR on the tuning
    cutoffs: the choice never sees a test row.

    Returns what is needed to refit and describe it (algorithm, feature set, feature
    columns, estimator parameters, threshold), the figure that chose it and the runner-up,
    and, frozen with it, the ``churn_task`` (churn pages, windows) and the feature
    parameters it was trained with: scoring computes features from these, never from the
    current parameters.
    """
    best, *others = ranked_on_validation(model_results)
    keys = ("algorithm", "feature_set", "feature_columns", "estimator_params")
    return {
        "name": evaluation.model_name(best["feature_set"], best["algorithm"]),
        **{key: best[key] for key in keys},
        "threshold": best["threshold"],
        "chosen_by": {
            "metric": SELECTION_METRIC,
            "value": best[SELECTION_METRIC],
            "on": "user-grouped cross-validation on the tuning cutoffs",
            "tuning_cutoffs": best["tuning_cutoffs"],
        },
        "runner_up": {
            "name": evaluation.model_name(
                others[0]["feature_set"], others[0]["algorithm"]
            ),
            SELECTION_METRIC: others[0][SELECTION_METRIC],
        }
        if others
        else None,
        "churn_task": churn_task,
        "feature_params": feature_params,
    }


def build_feature_weights(
    model_results: dict[str, list[dict[str, Any]]],
) -> pd.DataFrame:
    """Feature importances (trees) and coefficients (linear models) of every model."""
    return pd.DataFrame(
        [
            {
                "feature_set": result["feature_set"],
                "algorithm": result["algorithm"],
                **weight,
            }
            for result in _flatten(model_results)
            for weight in result["feature_weights"]
        ],
        columns=["feature_set", "algorithm", "feature", "kind", "value"],
    )
