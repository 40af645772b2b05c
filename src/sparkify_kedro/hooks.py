"""Project hooks: the one SparkSession of a Kedro run."""

from __future__ import annotations

import logging
import os
import sys

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from pyspark import SparkConf
from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)


def build_spark_session(spark_conf: dict[str, object], app_name: str) -> SparkSession:
    """Create (or reuse) the SparkSession with ``spark_conf`` applied.

    ``spark_conf`` holds Spark properties (``spark.master``, ``spark.sql.*`` ...). If a
    session already exists in this process (a test, a notebook), Spark keeps its static
    settings and applies the runtime ones.
    """
    if str(spark_conf.get("spark.master", "")).startswith("local"):
        # Python workers of local Spark run this interpreter (and its packages), not
        # whatever `python3` comes first on the PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # and every Spark service of this process binds to loopback
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    conf = SparkConf().setAll([(key, str(value)) for key, value in spark_conf.items()])
    spark = SparkSession.builder.appName(app_name).config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel(str(spark_conf.get("spark.log.level", "WARN")))
    return spark


class SparkHooks:
    """Builds the SparkSession from ``conf/<env>/spark*.yml`` when the context is created.

    Every Spark dataset of the catalog and every node then uses this session
    (``SparkSession.builder.getOrCreate()`` returns it). kedro-viz runs without hooks, and
    nothing in the catalog needs a session until data is actually loaded.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        spark_conf = dict(context.config_loader["spark"])
        spark = build_spark_session(spark_conf, app_name=context.project_path.name)
        logger.info(
            "SparkSession ready: master=%s, env=%s",
            spark.sparkContext.master,
            context.env,
        )
