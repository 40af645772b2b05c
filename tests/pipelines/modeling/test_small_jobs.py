"""Cheap Spark jobs while modeling: interpreted queries, rows without lineage, shared
preprocessing; the same models as a plain ``Pipeline.fit``."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from sparkify_kedro.columns import SCORE
from sparkify_kedro.estimators import build_classifier_pipeline, classifier_pipeline
from sparkify_kedro.pipelines.modeling.rolling_origin import WEIGHT, with_class_weights
from sparkify_kedro.pipelines.modeling.tuning import (
    fit_grid,
    prepare_training_set,
    scored,
)
from sparkify_kedro.spark_tuning import (
    INTERPRETED_EXPRESSIONS,
    interpreted_expressions,
    interprets,
    materialised,
    small_query_settings,
)

from .conftest import CUTOFFS, FAST_ALGORITHMS, FEATURE_COLUMNS

WHOLE_STAGE = "spark.sql.codegen.wholeStage"
FACTORY_MODE = "spark.sql.codegen.factoryMode"


def _compiled_stages(frame) -> bool:
    """Whether the frame's physical plan has whole-stage generated code (``*(n)`` nodes)."""
    return "*(" in frame._jdf.queryExecution().executedPlan().toString()


def test_queries_inside_run_interpreted_and_the_settings_come_back(spark):
    spark.conf.set(WHOLE_STAGE, "true")
    spark.conf.unset(FACTORY_MODE)
    frame = spark.range(10).select((F.col("id") * 3 + 1).alias("value"))
    assert _compiled_stages(frame)
    with interpreted_expressions(spark):
        assert {key: spark.conf.get(key) for key in INTERPRETED_EXPRESSIONS} == (
            INTERPRETED_EXPRESSIONS
        )
        inside = spark.range(10).select((F.col("id") * 3 + 1).alias("value"))
        assert not _compiled_stages(inside)
        assert [row.value for row in inside.collect()] == [3 * i + 1 for i in range(10)]
    assert spark.conf.get(WHOLE_STAGE) == "true"
    assert spark.conf.get(FACTORY_MODE, None) is None  # unset again, not set to a value


@pytest.mark.parametrize(
    ("n_rows", "setting", "expected"),
    [
        (1_077, {"interpret_below_rows": 20_000, "interpret": None}, True),
        (19_999, {"interpret_below_rows": 20_000, "interpret": None}, True),
        (20_000, {"interpret_below_rows": 20_000, "interpret": None}, False),
        (150_000, {"interpret_below_rows": 20_000}, False),
        (150_000, {"interpret_below_rows": 20_000, "interpret": True}, True),
        (10, {"interpret_below_rows": 20_000, "interpret": False}, False),
    ],
)
def test_queries_run_interpreted_below_the_row_threshold_unless_overridden(
    n_rows, setting, expected
):
    assert interprets(n_rows, setting) is expected


@pytest.mark.parametrize(("n_rows", "interpreted"), [(100, True), (100_000, False)])
def test_small_query_settings_interpret_only_few_rows(spark, n_rows, interpreted):
    spark.conf.set(WHOLE_STAGE, "true")
    setting = {"interpret_below_rows": 20_000, "interpret": None}
    with small_query_settings(spark, n_rows, setting):
        frame = spark.range(10).select((F.col("id") * 3 + 1).alias("value"))
        assert _compiled_stages(frame) is not interpreted
    assert spark.conf.get(WHOLE_STAGE) == "true"


def test_the_settings_come_back_when_the_body_fails(spark):
    spark.conf.set(WHOLE_STAGE, "true")
    with pytest.raises(RuntimeError, match="fit failed"):
        with interpreted_expressions(spark):
            raise RuntimeError("fit failed")
    assert spark.conf.get(WHOLE_STAGE) == "true"


def test_materialised_rows_have_no_lineage_and_are_freed_after(spark):
    persisted = spark.sparkContext._jsc.getPersistentRDDs().size()
    source = spark.range(100).withColumn("square", F.col("id") * F.col("id"))
    derived = source.where(F.col("id") % 3 == 0)
    with materialised(derived) as rows:
        assert spark.sparkContext._jsc.getPersistentRDDs().size() == persisted + 1
        plan = rows._jdf.queryExecution().optimizedPlan().toString()
        # read back from memory, not recomputed from the source
        assert "LogicalRDD" in plan and "Filter" not in plan
        assert sorted(tuple(row) for row in rows.collect()) == [
            (i, i * i) for i in range(0, 100, 3)
        ]
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == persisted


def _weighted_rows(model_input_table):
    n = model_input_table.count()
    churners = model_input_table.where(F.col("label") == 1).count()
    return with_class_weights(model_input_table, n, churners).repartition(1, "user_id")


def _same_scores(ours, theirs, rows) -> None:
    """Both models give every row the same score, to the last bit."""
    expected = scored(theirs, rows).select("user_id", "cutoff", F.col(SCORE).alias("e"))
    joined = ours.select("user_id", "cutoff", SCORE).join(
        expected, ["user_id", "cutoff"]
    )
    pairs = joined.collect()
    assert len(pairs) == rows.count()
    assert all(row[SCORE] == row["e"] for row in pairs)


# A tree ensemble, and a linear model with its calibration (a logistic regression).
@pytest.mark.parametrize("algorithm", ["gbt", "linear_svc"])
def test_a_classifier_fitted_on_a_training_set_is_the_plain_pipeline_fit(
    model_input_table, algorithm
):
    rows = _weighted_rows(model_input_table)
    fitting = F.col("cutoff") != F.lit(CUTOFFS[-1])
    settings = FAST_ALGORITHMS[algorithm]
    stages, classifier = classifier_pipeline(
        settings["estimator"], {**settings["params"], "maxIter": 3}, WEIGHT
    )
    with interpreted_expressions(rows.sparkSession):
        training_set = prepare_training_set(rows, fitting, FEATURE_COLUMNS)
        model = stages.fit(training_set.fitting_rows())
        ours = scored(model, training_set.scored_rows())
    pipeline, _ = build_classifier_pipeline(
        FEATURE_COLUMNS,
        settings["estimator"],
        {**settings["params"], "maxIter": 3},
        WEIGHT,
    )
    _same_scores(ours, pipeline.fit(rows.where(fitting)), rows.where(~fitting))


def test_a_grid_fitted_on_materialised_rows_is_the_plain_fit(model_input_table):
    rows = _weighted_rows(model_input_table)
    settings = FAST_ALGORITHMS["linear_svc"]
    pipeline, classifier = build_classifier_pipeline(
        FEATURE_COLUMNS, settings["estimator"], settings["params"], WEIGHT
    )
    grid = [{classifier.getParam("maxIter"): n} for n in (2, 3)]
    with interpreted_expressions(rows.sparkSession):
        fitted = fit_grid(pipeline, classifier, rows, grid)
    for model, point in zip(fitted, grid, strict=True):
        _same_scores(scored(model, rows), pipeline.fit(rows, point), rows)
