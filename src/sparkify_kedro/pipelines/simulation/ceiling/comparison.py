"""Every model's expected AUC-PR against the ceiling: ranking by the simulator's own
churn probability (``probabilities.py``), the best any model can do.

Labels are redrawn from those probabilities many times, each model keeping its ranking:
its *expected* AUC-PR, the ceiling's and their ratio, for the choosing procedure on its
test rows and for every candidate on the rows it was chosen on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from pyspark.sql import DataFrame

from sparkify_kedro import evaluation
from sparkify_kedro.columns import CUTOFF, KEYS, LABEL, MODEL, SCORE, USER
from sparkify_kedro.pipelines.simulation.ceiling.probability_check import (
    calibration_against_simulator,
)

#: The index of the origin rows: sorted by cutoff, then user.
INDEX = [CUTOFF, USER]
#: The modeling pipeline's names of the choosing procedure and of the two baselines.
PROCEDURE = "procedure"
RULE = evaluation.model_name(evaluation.BASELINE, "one_rule")
BASE_RATE = evaluation.model_name(evaluation.BASELINE, "always_no_churn")
#: The row sets of the comparison, as ``model_metrics`` names its figures.
TEST, VALIDATION = "test", "validation"
#: The columns of the ranked origin rows that are no candidate's scores.
_NOT_CANDIDATES = {PROCEDURE, LABEL, "churn_probability"}


def _ranked_origin_rows(
    candidate_scores: pd.DataFrame,
    procedure_test_scores: pd.DataFrame,
    probabilities: pd.DataFrame,
) -> pd.DataFrame:
    """Every origin row once, indexed and sorted by (``cutoff``, ``user_id``): its
    ``label``, its ``churn_probability`` and one column of within-cutoff ranks per
    candidate that scored every origin row, and the procedure's (missing at the first
    origin, which has no test scores)."""
    wide = candidate_scores.pivot(index=INDEX, columns=MODEL, values=SCORE)
    wide = wide.sort_index().dropna(axis="columns")
    procedure = procedure_test_scores.set_index(INDEX)[SCORE]
    if not procedure.index.isin(wide.index).all():
        raise ValueError(
            "The procedure's test scores have rows no candidate scored: rerun the "
            "modeling pipeline."
        )
    wide[PROCEDURE] = procedure
    labels = candidate_scores.drop_duplicates(INDEX).set_index(INDEX)[LABEL]
    probability = probabilities.set_index(INDEX)["churn_probability"]
    ranks = evaluation.within_group_ranks(wide, wide.index.get_level_values(CUTOFF))
    rows = ranks.assign(**{LABEL: labels, "churn_probability": probability})
    missing = int(rows["churn_probability"].isna().sum())
    if missing:
        raise ValueError(
            f"{missing} origin rows have no simulated churn probability: rerun the "
            f"ceiling pipeline (simulate_churn_probabilities) on the current labels."
        )
    return rows


def _expected(
    rows: pd.DataFrame, models: list[str], ceiling_params: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each model's and the ceiling's AUC-PR over labels redrawn from the probabilities
    of ``rows`` (``evaluation.expected_auc_pr``; the same draws for all)."""
    return evaluation.expected_auc_pr(
        rows["churn_probability"].to_numpy(float),
        {model: rows[model].to_numpy(float) for model in models},
        ceiling_params["label_draws"],
        ceiling_params["seed"],
    )


def _comparison_table(
    row_set: str,
    rows: pd.DataFrame,
    expected: dict[str, dict[str, Any]],
    realised: pd.DataFrame,
    deployed: str,
) -> pd.DataFrame:
    """One line per model of ``expected`` on ``row_set``: the ceiling first, then the
    models by expected AUC-PR (best first), each with its ratio to the ceiling and its
    realised AUC-PR with interval from ``realised`` (``model_metrics`` rows of that
    figure; the ceiling's realised AUC-PR is its probabilities' on the logged labels)."""
    ceiling = expected[evaluation.CEILING]["mean"]
    models = [
        evaluation.CEILING,
        *sorted(
            (model for model in expected if model != evaluation.CEILING),
            key=lambda model: -expected[model]["mean"],
        ),
    ]
    measured = realised.set_index(MODEL).reindex(models)
    table = pd.DataFrame(
        {
            "rows": row_set,
            "model": models,
            "chosen": [model == deployed for model in models],
            "expected_auc_pr": [expected[model]["mean"] for model in models],
            "expected_auc_pr_se": [expected[model]["sem"] for model in models],
            "ceiling_expected_auc_pr": ceiling,
            "ratio_to_ceiling": [expected[model]["mean"] / ceiling for model in models],
            **{
                f"realised_{column}": measured[column].to_numpy(float)
                for column in ("auc_pr", "auc_pr_low", "auc_pr_high")
            },
        }
    )
    table.loc[0, "realised_auc_pr"] = evaluation.auc_pr(
        rows[LABEL].to_numpy(int), rows["churn_probability"].to_numpy(float)
    )
    return table


def _figures_of(
    prefix: str, expected: dict[str, dict[str, Any]], model: str
) -> dict[str, float]:
    """``model``'s expected AUC-PR, its standard error and its ratio to the ceiling."""
    figures = expected[model]
    return {
        f"{prefix}_expected_auc_pr": figures["mean"],
        f"{prefix}_expected_auc_pr_se": figures["sem"],
        f"{prefix}_ratio_to_ceiling": figures["mean"]
        / expected[evaluation.CEILING]["mean"],
    }


def _difference_of(
    prefix: str, expected: dict[str, dict[str, Any]], model: str, other: str
) -> dict[str, float]:
    """The mean over the redrawn futures of ``model``'s AUC-PR minus ``other``'s (paired:
    the same draws) and its standard error."""
    differences = expected[model]["draws"] - expected[other]["draws"]
    differences = differences[~np.isnan(differences)]
    return {
        f"{prefix}_expected_auc_pr": float(differences.mean()),
        f"{prefix}_expected_auc_pr_se": float(
            differences.std(ddof=1) / np.sqrt(differences.size)
        ),
    }


def _churn_by_cutoff(rows: pd.DataFrame, test_cutoffs: pd.Index) -> list[dict]:
    """The mean probability against the realised churn rate of each origin: a check that
    the futures match the logged process."""
    by_cutoff = rows.groupby(level=CUTOFF).agg(
        rows=(LABEL, "size"),
        churners=(LABEL, "sum"),
        mean_probability=("churn_probability", "mean"),
    )
    return [
        {
            "cutoff": pd.Timestamp(cutoff).isoformat(),
            "test": bool(cutoff in test_cutoffs),
            "rows": int(row.rows),
            "realised_churn_rate": float(row.churners / row.rows),
            "mean_churn_probability": float(row.mean_probability),
        }
        for cutoff, row in by_cutoff.iterrows()
    ]


def compare_with_ceiling(  # noqa: PLR0917 (a Kedro node: inputs come by position)
    candidate_scores: pd.DataFrame,
    procedure_test_scores: pd.DataFrame,
    simulated_churn_probabilities: DataFrame,
    model_metrics: pd.DataFrame,
    ceiling_params: dict[str, Any],
    calibrated_test_probabilities: pd.DataFrame,
    calibration_params: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Expected AUC-PR over redrawn futures, beside the ceiling's, on two sets of rows,
    and the calibrated test probabilities against the simulator's
    (:func:`.probability_check.calibration_against_simulator`).

    Labels of every origin row are redrawn ``label_draws`` times from the simulator's
    probability, the same draws for every model of a set; models are scored by their
    within-cutoff percentile ranks, the ceiling by the probabilities. Sets: ``test`` (the
    origins after the first: the procedure, the rule, the base rate) and ``validation``
    (every origin: every candidate that scored all of them).

    Returns a table (per set and model: ``rows``, ``model``, ``chosen``,
    ``expected_auc_pr`` and its standard error, ``ceiling_expected_auc_pr``,
    ``ratio_to_ceiling``, the realised AUC-PR with its interval) and a summary (the
    ceiling, procedure, rule and deployed figures, paired differences with the rule, the
    probabilities against the realised churn rate per origin, the calibration check).
    """
    probabilities = simulated_churn_probabilities.select(
        *KEYS, "churn_probability"
    ).toPandas()
    rows = _ranked_origin_rows(candidate_scores, procedure_test_scores, probabilities)
    test_cutoffs = pd.Index(procedure_test_scores[CUTOFF].unique()).sort_values()
    test_rows = rows[rows.index.get_level_values(CUTOFF).isin(test_cutoffs)]
    candidates = [model for model in rows.columns if model not in _NOT_CANDIDATES]
    (deployed,) = model_metrics.loc[
        (model_metrics["figure"] == VALIDATION) & model_metrics["chosen"], MODEL
    ]
    on_test = _expected(test_rows, [PROCEDURE, RULE, BASE_RATE], ceiling_params)
    on_validation = _expected(rows, candidates, ceiling_params)
    table = pd.concat(
        [
            _comparison_table(
                row_set,
                set_rows,
                expected,
                model_metrics[model_metrics["figure"] == row_set],
                deployed,
            )
            for row_set, set_rows, expected in (
                (TEST, test_rows, on_test),
                (VALIDATION, rows, on_validation),
            )
        ],
        ignore_index=True,
    )
    ceiling_validation = on_validation[evaluation.CEILING]
    summary = {
        "label_draws": ceiling_params["label_draws"],
        "test_cutoffs": [cutoff.isoformat() for cutoff in test_cutoffs],
        "test_rows": len(test_rows),
        "ceiling_expected_auc_pr": on_test[evaluation.CEILING]["mean"],
        "ceiling_expected_auc_pr_se": on_test[evaluation.CEILING]["sem"],
        **_figures_of("procedure", on_test, PROCEDURE),
        **_figures_of("rule", on_test, RULE),
        **_difference_of("procedure_minus_rule", on_test, PROCEDURE, RULE),
        "validation_rows": len(rows),
        "validation_ceiling_expected_auc_pr": ceiling_validation["mean"],
        "validation_ceiling_expected_auc_pr_se": ceiling_validation["sem"],
        "deployed_model": deployed,
        **_figures_of("deployed_validation", on_validation, deployed),
        **_figures_of("rule_validation", on_validation, RULE),
        **_difference_of(
            "deployed_minus_rule_validation", on_validation, deployed, RULE
        ),
        "probabilities_against_realised_churn": _churn_by_cutoff(rows, test_cutoffs),
        "expected_churn_rate": float(rows["churn_probability"].mean()),
        "realised_churn_rate": float(rows[LABEL].mean()),
        **calibration_against_simulator(
            calibrated_test_probabilities,
            candidate_scores.loc[candidate_scores[MODEL] == deployed, [*KEYS, LABEL]],
            probabilities,
            calibration_params,
        ),
    }
    return table, summary


def plot_ceiling_comparison(ceiling_comparison: pd.DataFrame) -> go.Figure:
    """Expected AUC-PR over redrawn futures of every model, in two panels (the test rows:
    procedure, rule, base rate; the validation rows: every candidate that scored every
    origin), best first, each panel's ceiling as a dashed line, the deployed model red."""
    row_sets = [TEST, VALIDATION]
    counts = [(ceiling_comparison["rows"] == row_set).sum() for row_set in row_sets]
    figure = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[count / sum(counts) for count in counts],
        subplot_titles=[
            "test rows (the origins after the first)",
            "validation rows (every origin)",
        ],
    )
    for column, row_set in enumerate(row_sets, start=1):
        lines = ceiling_comparison[ceiling_comparison["rows"] == row_set]
        is_ceiling = lines["model"] == evaluation.CEILING
        models = lines[~is_ceiling].sort_values("expected_auc_pr", ascending=False)
        (ceiling,) = lines.loc[is_ceiling, "expected_auc_pr"]
        figure.add_trace(
            go.Bar(
                x=models["model"],
                y=models["expected_auc_pr"],
                error_y={"type": "data", "array": 1.96 * models["expected_auc_pr_se"]},
                marker_color=[
                    "#d62728" if chosen else "#1f77b4" for chosen in models["chosen"]
                ],
                customdata=models["ratio_to_ceiling"],
                hovertemplate="%{x}: %{y:.3f} (%{customdata:.0%} of the ceiling)",
                name=row_set,
                showlegend=False,
            ),
            row=1,
            col=column,
        )
        figure.add_hline(
            y=ceiling,
            line_dash="dash",
            annotation_text=f"ceiling: {ceiling:.3f}",
            row=1,
            col=column,
        )
    figure.update_layout(
        title="Expected AUC-PR over redrawn futures against the ceiling (the "
        "simulator's own probability); red = deployed",
        yaxis_title="expected AUC-PR",
        yaxis_range=[0, 1],
    )
    return figure
