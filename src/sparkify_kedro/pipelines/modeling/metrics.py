"""Evaluation metrics of a binary churn classifier, computed in Spark.

Every function takes a DataFrame of predictions with a ``label`` column (1 = churn) and a
``score`` column (double: higher = more likely to churn); threshold metrics also take a
``prediction`` column (0/1). Only counts and a few aggregates come back to the driver.
"""

from __future__ import annotations

import math

import pandas as pd
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

LABEL = "label"
SCORE = "score"
PREDICTION = "prediction"
TOP_DECILE = 0.1


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, 0 when the denominator is 0 (as scikit-learn reports)."""
    return numerator / denominator if denominator else 0.0


def _counts_by_score(predictions: DataFrame) -> DataFrame:
    """Rows grouped by distinct score, best first, with running totals.

    Columns: ``score``, ``n``, ``positives``, ``cum_n`` and ``cum_positives`` (rows and
    churners with a score at or above this one), ``prev_n`` (rows with a higher score).
    """
    running = Window.orderBy(F.desc(SCORE)).rowsBetween(
        Window.unboundedPreceding, Window.currentRow
    )
    return (
        predictions.groupBy(SCORE)
        .agg(F.count("*").alias("n"), F.sum(LABEL).alias("positives"))
        .withColumn("cum_n", F.sum("n").over(running))
        .withColumn("cum_positives", F.sum("positives").over(running))
        .withColumn("prev_n", F.col("cum_n") - F.col("n"))
    )


def class_counts(predictions: DataFrame) -> tuple[int, int]:
    """(number of rows, number of churners)."""
    row = predictions.agg(
        F.count("*").alias("n"), F.coalesce(F.sum(LABEL), F.lit(0)).alias("positives")
    ).first()
    return int(row["n"]), int(row["positives"])


def best_f1_threshold(predictions: DataFrame) -> float:
    """The score threshold (predict churn when ``score >= threshold``) that maximises F1.

    Candidates are the distinct scores; among equal F1 the highest threshold wins. Meant for
    training (out-of-fold) predictions, so that the test set never tunes the threshold.
    """
    _, positives = class_counts(predictions)
    if positives == 0:
        raise ValueError("Cannot choose a threshold: the predictions hold no churner.")
    best = (
        _counts_by_score(predictions)
        .withColumn(
            "f1", 2 * F.col("cum_positives") / (F.col("cum_n") + F.lit(positives))
        )
        .orderBy(F.desc("f1"), F.desc(SCORE))
        .first()
    )
    return float(best[SCORE])


def lift_at_top(predictions: DataFrame, fraction: float) -> float:
    """Churn rate among the top ``fraction`` of rows by score, over the overall churn rate.

    The top is ``ceil(fraction * n)`` rows; rows tied on the boundary score count
    pro rata, so a constant score has a lift of exactly 1. NaN without churners.
    """
    n, positives = class_counts(predictions)
    if n == 0 or positives == 0:
        return math.nan
    top = math.ceil(fraction * n)
    in_top = (
        F.when(F.col("cum_n") <= top, F.col("positives"))
        .when(
            F.col("prev_n") < top,
            F.col("positives") * (F.lit(top) - F.col("prev_n")) / F.col("n"),
        )
        .otherwise(F.lit(0.0))
    )
    top_positives = _counts_by_score(predictions).agg(F.sum(in_top)).first()[0]
    return float((top_positives / top) / (positives / n))


def confusion_counts(predictions: DataFrame) -> dict[str, int]:
    """True/false positives/negatives of the churn class (``prediction`` vs ``label``)."""
    label, prediction = F.col(LABEL) == 1, F.col(PREDICTION) == 1
    row = predictions.agg(
        F.count(F.when(label & prediction, 1)).alias("tp"),
        F.count(F.when(~label & prediction, 1)).alias("fp"),
        F.count(F.when(label & ~prediction, 1)).alias("fn"),
        F.count(F.when(~label & ~prediction, 1)).alias("tn"),
    ).first()
    return {key: int(row[key]) for key in ("tp", "fp", "fn", "tn")}


def threshold_metrics(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    """Precision, recall and F1 of the churn class, and the support-weighted F1 of both.

    The weighted F1 is scikit-learn's ``f1_score(average="weighted")``: each class's F1
    weighted by its number of true rows. Undefined ratios count as 0.
    """
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1_churn = _ratio(2 * tp, 2 * tp + fp + fn)
    f1_stay = _ratio(2 * tn, 2 * tn + fn + fp)
    churners, stayers = tp + fn, tn + fp
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_churn,
        "weighted_f1": _ratio(
            churners * f1_churn + stayers * f1_stay, churners + stayers
        ),
    }


def ranking_metrics(predictions: DataFrame) -> dict[str, float]:
    """Area under the precision-recall and ROC curves of ``score`` (NaN with one class)."""
    n, positives = class_counts(predictions)
    if positives in (0, n):
        return {"auc_pr": math.nan, "auc_roc": math.nan}
    evaluator = BinaryClassificationEvaluator(rawPredictionCol=SCORE, labelCol=LABEL)
    return {
        "auc_pr": evaluator.evaluate(
            predictions, {evaluator.metricName: "areaUnderPR"}
        ),
        "auc_roc": evaluator.evaluate(
            predictions, {evaluator.metricName: "areaUnderROC"}
        ),
    }


def evaluate_predictions(predictions: DataFrame) -> dict[str, float]:
    """Every test metric of one model: AUC-PR, AUC-ROC, threshold metrics, top-decile lift.

    The predictions are cached while the metrics are computed (they are read a dozen times).
    """
    cached = predictions.select(LABEL, SCORE, PREDICTION).cache()
    try:
        n, positives = class_counts(cached)
        return {
            **ranking_metrics(cached),
            **threshold_metrics(**confusion_counts(cached)),
            "lift_top_decile": lift_at_top(cached, TOP_DECILE),
            "n_rows": n,
            "n_churners": positives,
        }
    finally:
        cached.unpersist()


def ranking_curve(predictions: DataFrame, score_grid: int) -> pd.DataFrame:
    """Cumulative counts of rows ranked by score: the ROC, PR and gains curves in one.

    Scores are rounded down to multiples of ``1 / score_grid`` and grouped in Spark, so at
    most ``score_grid + 1`` thresholds reach pandas. One row per threshold, highest first,
    after a starting row where no one is selected: ``threshold``, ``selected`` and
    ``churners_selected`` (rows with a score at or above it), ``share_selected``,
    ``true_positive_rate`` (= recall = cumulative gain), ``false_positive_rate``,
    ``precision`` and ``lift`` (precision over the overall churn rate).
    """
    rounded = F.floor(F.col(SCORE) * F.lit(score_grid)) / F.lit(score_grid)
    steps = (
        predictions.groupBy(rounded.alias("threshold"))
        .agg(F.count("*").alias("rows"), F.sum(LABEL).alias("churners"))
        .toPandas()
        .sort_values("threshold", ascending=False)
    )
    start = pd.DataFrame({"threshold": [math.inf], "rows": [0], "churners": [0]})
    curve = pd.concat([start, steps], ignore_index=True)
    curve["selected"] = curve["rows"].cumsum()
    curve["churners_selected"] = curve["churners"].cumsum()
    total, churners = float(curve["rows"].sum()), float(curve["churners"].sum())
    selected, hits = curve["selected"], curve["churners_selected"]
    curve["share_selected"] = selected / total
    curve["true_positive_rate"] = hits / churners if churners else math.nan
    others = total - churners
    curve["false_positive_rate"] = (selected - hits) / others if others else math.nan
    curve["precision"] = (hits / selected.where(selected > 0)).astype(float)
    curve["lift"] = curve["precision"] / (churners / total) if churners else math.nan
    return curve[
        [
            "threshold",
            "selected",
            "churners_selected",
            "share_selected",
            "true_positive_rate",
            "false_positive_rate",
            "precision",
            "lift",
        ]
    ]
