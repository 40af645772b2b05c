"""Test metrics of a churn classifier on the driver, with bootstrap intervals.

For the bounded table of test scores (users x test cutoffs), in scikit-learn and numpy
instead of a dozen Spark jobs per model. Inputs are 1-D arrays of the same length:
``labels`` (1 = churn, 0 = stays), ``scores`` (higher = more likely to churn),
``predictions`` (0/1) and optional ``weights``: non-negative multiplicities, a row of
weight ``w`` counting as if it appeared ``w`` times (a weight of 0 drops the row).

Definitions (``P`` churners, ``N`` stayers, rows grouped by distinct score, best first;
at the ``k``-th distinct score, ``tp_k`` and ``fp_k`` count the churners and stayers
scored at or above it):

- **AUC-PR** is Spark's ``BinaryClassificationMetrics.areaUnderPR``: the trapezoidal area
  under the points ``(recall_k, precision_k) = (tp_k / P, tp_k / (tp_k + fp_k))``, one per
  distinct score, preceded by ``(0, precision_1)`` (the precision at the highest score,
  as Spark 4's ``pr()`` prepends). Ties are never split: a group of tied rows is one
  point. This is scikit-learn's ``precision_recall_curve`` (one point per distinct
  score) with its closing point ``(0, 1)`` replaced by ``(0, precision_1)``, integrated
  by ``sklearn.metrics.auc``; not scikit-learn's average precision (a step function).
  It is the exact curve, i.e. Spark's ``BinaryClassificationEvaluator`` with
  ``numBins=0``; the evaluator's default ``numBins=1000`` only differs with at least
  2,000 distinct scores (Spark then merges consecutive scores into about 1,000 bins).
- **AUC-ROC** is Spark's ``areaUnderROC`` and scikit-learn's ``roc_auc_score``: the
  trapezoidal area under ``(fp_k / N, tp_k / P)`` from ``(0, 0)``, ties grouped (the
  probability that a churner outscores a stayer, ties counting one half).
- Both AUCs are NaN when there is no churner or no stayer.
- **Threshold metrics** compare ``predictions`` with ``labels``: precision, recall and F1
  of the churn class and scikit-learn's ``f1_score(average="weighted")`` (each class's F1
  weighted by its number of true rows); an undefined ratio counts as 0
  (``zero_division=0``).
- **Lift at the top** ``fraction``: the churn rate among the ``ceil(fraction * n)``
  best-scored rows over the overall churn rate (``n`` = number of rows, or total weight).
  Rows tied at the boundary score count pro rata, so a constant score has a lift of
  exactly 1. NaN without churners.
- **Best-F1 threshold**: among the distinct scores, the threshold ``t`` (predict churn
  when ``score >= t``) that maximises F1 = ``2 tp / (tp + fp + P)``; the highest ``t``
  among equal F1.

Bootstrap (:func:`bootstrap_metrics`) resamples users, not rows: a user's rows (one per
test cutoff) stay together. Each resample draws ``n_users`` users with replacement; a
row's weight is the number of times its user was drawn, and every metric is the
weighted metric above, so a draw equals the metric computed on the resampled rows.
Every model is evaluated on the same resamples: differences between models are paired
(:func:`paired_difference_interval`). :func:`expected_auc_pr` averages the AUC-PR over
labels redrawn from known churn probabilities (the simulator's ceiling). Both are
vectorised in numpy (``bootstrap``); the tests check them against the point metrics.

scikit-learn is imported inside the functions that use it: Spark's Python workers
import the pipelines' packages, and would pay its 2.5 s import each.
"""

from sparkify_kedro.evaluation.bootstrap import (
    bootstrap_metrics,
    expected_auc_pr,
    group_multiplicities,
    paired_difference_interval,
    percentile_interval,
)
from sparkify_kedro.evaluation.definitions import (
    BASELINE,
    BOOTSTRAP_METRICS,
    CEILING,
    model_name,
)
from sparkify_kedro.evaluation.metrics import (
    auc_pr,
    auc_roc,
    best_f1_threshold,
    evaluate_scores,
    lift_at_top,
    ranking_curve,
    threshold_metrics,
    within_group_ranks,
)

__all__ = [
    "BASELINE",
    "BOOTSTRAP_METRICS",
    "CEILING",
    "auc_pr",
    "auc_roc",
    "best_f1_threshold",
    "bootstrap_metrics",
    "evaluate_scores",
    "expected_auc_pr",
    "group_multiplicities",
    "lift_at_top",
    "model_name",
    "paired_difference_interval",
    "percentile_interval",
    "ranking_curve",
    "threshold_metrics",
    "within_group_ranks",
]
