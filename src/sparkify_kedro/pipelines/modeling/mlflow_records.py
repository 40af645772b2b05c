"""What a training run hands to its MLflow run: the values, no MLflow here (the
``mlflow_*`` datasets of conf/base/catalog_modeling.yml log them)."""

from __future__ import annotations

import re

import pandas as pd
from pyspark.ml import PipelineModel

#: Runs of characters MLflow refuses in a metric name (it allows letters, digits, ``_``,
#: ``-``, ``.``, ``/``, spaces and, except on Windows, ``:``; spaces and colons too here).
_NOT_IN_A_METRIC_NAME = re.compile(r"[^\w./-]+")


def metric_name(model: str) -> str:
    """A model's name as MLflow accepts it in a metric name: every run of other characters
    (``(``, ``=``, ``,``, spaces) becomes one ``_``, none left at the end of a part
    (``LogisticRegression(regParam=0.1)/all`` -> ``LogisticRegression_regParam_0.1/all``)."""
    return "/".join(
        _NOT_IN_A_METRIC_NAME.sub("_", part).rstrip("_") for part in model.split("/")
    )


def model_metrics_for_mlflow(
    model_metrics: pd.DataFrame,
) -> dict[str, dict[str, float]]:
    """Every number of ``model_metrics`` as an MLflow metric (``{"value", "step": 0}``)
    named ``<model>.<figure>.<column>`` (:func:`metric_name`), the deployed candidate's
    row repeated as ``best.<figure>.<column>``; empty cells are left out.
    """
    numbers = model_metrics.select_dtypes("number")
    figure, chosen = model_metrics["figure"], model_metrics["chosen"].astype(bool)
    rows = pd.concat(
        [
            numbers.set_axis(model_metrics["model"].map(metric_name) + "." + figure),
            numbers[chosen].set_axis("best." + figure[chosen]),
        ]
    )
    values = rows.stack(future_stack=True).dropna()
    return {
        f"{row}.{column}": {"value": float(value), "step": 0}
        for (row, column), value in values.items()
    }


def best_model_for_mlflow(best_model: PipelineModel) -> PipelineModel:
    """``best_model`` unchanged, for ``mlflow_best_model`` (the run's copy in MLflow's Spark
    flavour; ``best_model`` stays the versioned copy scoring and inference load)."""
    return best_model
