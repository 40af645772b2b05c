"""The run environments: local (default) and cluster, and telemetry kept off."""

from __future__ import annotations

import pytest
import yaml
from kedro.config import OmegaConfigLoader
from omegaconf.errors import InterpolationResolutionError
from pyspark.sql import functions as F

from sparkify_kedro import settings
from sparkify_kedro.spark_tuning import session_settings
from tests.kedro_helpers import PROJECT_ROOT, kedro_session


def config_loader(env: str) -> OmegaConfigLoader:
    return OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"), env=env, **settings.CONFIG_LOADER_ARGS
    )


def test_local_spark_stays_on_this_machine_with_the_ui_off():
    spark_conf = config_loader("local")["spark"]
    assert spark_conf["spark.master"] == "local[*]"
    assert spark_conf["spark.driver.host"] == "127.0.0.1"
    assert spark_conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert spark_conf["spark.ui.enabled"] is False
    assert spark_conf["spark.sql.session.timeZone"] == "UTC"


def test_cluster_takes_master_and_data_root_from_the_environment(monkeypatch):
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://spark-master:7077")
    monkeypatch.setenv("SPARKIFY_DATA_ROOT", "s3a://bucket/sparkify")
    loader = config_loader("cluster")
    spark_conf = loader["spark"]
    assert spark_conf["spark.master"] == "spark://spark-master:7077"
    laptop_only = {
        "spark.driver.host",
        "spark.driver.bindAddress",
        "spark.driver.memory",
    }
    assert not laptop_only & set(spark_conf)
    assert loader["catalog"]["clean_events"]["filepath"] == (
        "s3a://bucket/sparkify/03_primary/clean_events.parquet"
    )


def test_a_cluster_run_without_a_master_url_fails_at_once_naming_it(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("SPARK_MASTER_URL", raising=False)
    with pytest.raises(
        InterpolationResolutionError, match="SPARK_MASTER_URL is not set"
    ):
        # the hook reads the Spark conf when the context is created, before any data
        with kedro_session(tmp_path, env="cluster") as session:
            session.load_context()


def test_a_cluster_catalog_without_a_data_root_fails_naming_it(monkeypatch):
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://spark-master:7077")
    monkeypatch.delenv("SPARKIFY_DATA_ROOT", raising=False)
    with pytest.raises(
        InterpolationResolutionError, match="SPARKIFY_DATA_ROOT is not set"
    ):
        config_loader("cluster")["catalog"]  # noqa: B018


def test_kedro_telemetry_is_refused_for_everyone():
    assert yaml.safe_load((PROJECT_ROOT / ".telemetry").read_text()) == {
        "consent": False
    }


@pytest.mark.parametrize("env", ["local", "cluster"])
def test_a_dataframe_cached_after_a_shuffle_keeps_no_empty_partitions(
    spark, env, monkeypatch
):
    """With the environment's SQL settings, adaptive execution merges the shuffle
    partitions of a cached DataFrame too: a small one is read in a few tasks, not in
    ``spark.sql.shuffle.partitions`` (200 on a cluster) near-empty ones."""
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://spark-master:7077")
    monkeypatch.setenv("SPARKIFY_DATA_ROOT", "file:///tmp/sparkify")
    sql_settings = {  # as the SparkSession hook passes them: str(value)
        key: str(value)
        for key, value in config_loader(env)["spark"].items()
        if key.startswith("spark.sql.")
    }
    with session_settings(
        spark, {"spark.sql.shuffle.partitions": "200", **sql_settings}
    ):
        rows = spark.range(1000).groupBy((F.col("id") % 10).alias("key")).count()
        cached = rows.persist()
        try:
            assert cached.count() == 10
            assert cached.rdd.getNumPartitions() < 10
        finally:
            cached.unpersist()


@pytest.mark.parametrize("env", ["local", "cluster"])
def test_every_jvm_compiles_the_large_methods_of_generated_code(env, monkeypatch):
    """Driver and executors run with HotSpot's limit on compiled method size lifted: the
    code Spark generates for data_processing's parse is one method above it."""
    monkeypatch.setenv("SPARK_MASTER_URL", "spark://spark-master:7077")
    monkeypatch.setenv("SPARKIFY_DATA_ROOT", "file:///tmp/sparkify")
    spark_conf = config_loader(env)["spark"]
    for jvm in ("driver", "executor"):
        options = spark_conf[f"spark.{jvm}.extraJavaOptions"].split()
        assert "-XX:-DontCompileHugeMethods" in options


def test_the_test_jvms_compile_with_c1_only(spark):
    """The tests' JVMs read tests/spark_conf (conftest sets SPARK_CONF_DIR): C1 only, with
    the code cache of tiered compilation. The cluster tests check their executors."""
    runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    arguments = list(runtime.getInputArguments())
    assert "-XX:TieredStopAtLevel=1" in arguments
    assert "-XX:ReservedCodeCacheSize=256m" in arguments
    conf = spark.sparkContext.getConf()
    assert "-XX:TieredStopAtLevel=1" in conf.get("spark.executor.defaultJavaOptions")
