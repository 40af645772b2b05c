"""Spark ML pipelines of the four classifiers, scoring raw feature columns end to end.

Each pipeline imputes missing numbers (median), one-hot encodes the string features,
assembles one vector, standardises it for the linear models and ends in the classifier.
A ``LinearSVC`` only gives a margin, so its pipeline ends in a Platt calibration (a
one-feature logistic regression on the margin, fitted on the training rows): every
fitted pipeline writes a churn ``probability`` and is saved and loaded as one
``PipelineModel``.
"""

from __future__ import annotations

from typing import Any

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import (
    GBTClassificationModel,
    GBTClassifier,
    LinearSVC,
    LinearSVCModel,
    LogisticRegression,
    LogisticRegressionModel,
    RandomForestClassificationModel,
    RandomForestClassifier,
)
from pyspark.ml.feature import (
    Imputer,
    OneHotEncoder,
    StandardScaler,
    StringIndexer,
    VectorAssembler,
    VectorSlicer,
)
from pyspark.ml.functions import vector_to_array
from pyspark.ml.param import Params
from pyspark.sql import Column

from sparkify_kedro.columns import LABEL

ASSEMBLED = "assembled_features"
SCALED = "scaled_features"
PROBABILITY = "probability"

ESTIMATORS: dict[str, type[Params]] = {
    "GBTClassifier": GBTClassifier,
    "RandomForestClassifier": RandomForestClassifier,
    "LogisticRegression": LogisticRegression,
    "LinearSVC": LinearSVC,
}
_SCALED_ESTIMATORS = {"LogisticRegression", "LinearSVC"}
_SVC_MARGINS, _SVC_MARGIN = "svc_margins", "svc_margin"
_CLASSIFIER_MODELS = (
    GBTClassificationModel,
    RandomForestClassificationModel,
    LogisticRegressionModel,
    LinearSVCModel,
)


def estimator_class(name: str) -> type[Params]:
    """The ``pyspark.ml`` classifier class called ``name``, or a clear error."""
    if name not in ESTIMATORS:
        raise ValueError(
            f"Unknown estimator '{name}'; expected one of {sorted(ESTIMATORS)}."
        )
    return ESTIMATORS[name]


def _preprocessing_stages(
    numeric: list[str], categorical: list[str], scale: bool
) -> list[Params]:
    """Imputer, indexers/encoders, assembler (and scaler)."""
    stages: list[Params] = []
    imputed = [f"{column}__imputed" for column in numeric]
    if numeric:
        stages.append(Imputer(inputCols=numeric, outputCols=imputed, strategy="median"))
    encoded = [f"{column}__onehot" for column in categorical]
    if categorical:
        indexed = [f"{column}__index" for column in categorical]
        stages.append(
            StringIndexer(
                inputCols=categorical,
                outputCols=indexed,
                handleInvalid="keep",
                stringOrderType="alphabetAsc",
            )
        )
        stages.append(
            OneHotEncoder(inputCols=indexed, outputCols=encoded, handleInvalid="keep")
        )
    stages.append(VectorAssembler(inputCols=imputed + encoded, outputCol=ASSEMBLED))
    if scale:
        stages.append(
            StandardScaler(
                inputCol=ASSEMBLED, outputCol=SCALED, withMean=True, withStd=True
            )
        )
    return stages


def preprocessing_pipeline(
    feature_columns: dict[str, list[str]], scale: bool = True
) -> Pipeline:
    """Imputer, indexers/encoders, assembler (``assembled_features``) and, when ``scale``,
    the scaler (``scaled_features``): what turns ``numeric`` and ``categorical`` feature
    columns into a classifier's input vector."""
    return Pipeline(
        stages=_preprocessing_stages(
            feature_columns["numeric"], feature_columns["categorical"], scale
        )
    )


def features_column(estimator: str) -> str:
    """The vector ``estimator`` reads: standardised for the linear models, raw for trees."""
    return SCALED if estimator in _SCALED_ESTIMATORS else ASSEMBLED


def classifier_pipeline(
    estimator: str, estimator_params: dict[str, Any], weight_col: str | None = None
) -> tuple[Pipeline, Params]:
    """The classifier stages (for an SVM: the SVM and its calibration) reading the vector
    of :func:`features_column`, and the classifier (for grid parameters)."""
    features = features_column(estimator)
    weights = {"weightCol": weight_col} if weight_col else {}
    cls = estimator_class(estimator)
    if cls is LinearSVC:
        classifier = LinearSVC(
            featuresCol=features,
            labelCol=LABEL,
            rawPredictionCol=_SVC_MARGINS,
            predictionCol="svc_prediction",
            **weights,
            **estimator_params,
        )
        calibration = [
            VectorSlicer(inputCol=_SVC_MARGINS, outputCol=_SVC_MARGIN, indices=[1]),
            LogisticRegression(
                featuresCol=_SVC_MARGIN,
                labelCol=LABEL,
                regParam=0.0,
                maxIter=25,
                tol=1e-4,
            ),
        ]
        return Pipeline(stages=[classifier, *calibration]), classifier
    classifier = cls(
        featuresCol=features, labelCol=LABEL, **weights, **estimator_params
    )
    return Pipeline(stages=[classifier]), classifier


def build_classifier_pipeline(
    feature_columns: dict[str, list[str]],
    estimator: str,
    estimator_params: dict[str, Any],
    weight_col: str | None = None,
) -> tuple[Pipeline, Params]:
    """An unfitted Spark ML ``Pipeline`` and its classifier stage (for grid parameters).

    ``feature_columns`` holds ``numeric`` and ``categorical`` column names;
    ``estimator_params`` are set on the classifier; ``weight_col`` names the row weights
    used in fitting (scoring needs only the feature columns). The scaler is there only for
    the linear models.
    """
    preprocessing = preprocessing_pipeline(
        feature_columns, scale=features_column(estimator) == SCALED
    )
    classifier_stages, classifier = classifier_pipeline(
        estimator, estimator_params, weight_col
    )
    return (
        Pipeline(stages=[*preprocessing.getStages(), *classifier_stages.getStages()]),
        classifier,
    )


def churn_probability(probability_col: str = PROBABILITY) -> Column:
    """The churn-class entry of a probability vector column, as a double."""
    return vector_to_array(probability_col)[1]


def classifier_stage(model: PipelineModel) -> Any:
    """The fitted classifier of a pipeline (for an SVM: the SVM, not its calibration)."""
    for stage in reversed(model.stages):
        if (
            isinstance(stage, _CLASSIFIER_MODELS)
            and stage.getFeaturesCol() != _SVC_MARGIN
        ):
            return stage
    raise ValueError("The pipeline holds no classifier stage.")
