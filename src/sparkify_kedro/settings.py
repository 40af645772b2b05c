"""Project settings: hooks, and how configuration is loaded.

See https://docs.kedro.org/en/stable/configure/configuration_basics/ for the defaults.
"""

from importlib.metadata import version

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from sparkify_kedro.config_resolvers import required_env, unless_env
from sparkify_kedro.hooks import NodeTimingHooks, SparkHooks
from sparkify_kedro.known_warnings import ignore_known_warnings
from sparkify_kedro.model_versions import ModelVersionHooks
from sparkify_kedro.run_history import RunHistoryHooks

# kedro-mlflow's own hook (auto-registered by its entry point) starts and ends the MLflow run
# of a tracked pipeline (conf/base/mlflow.yml) and logs the parameters, its catalog datasets
# the metrics, the model and the reports; RunHistoryHooks adds what they cannot (its
# docstring). ModelVersionHooks loads best_model and best_model_info at the same version
# (--load-versions names one of them).
HOOKS = (SparkHooks(), NodeTimingHooks(), ModelVersionHooks(), RunHistoryHooks())

# Python warnings nobody here can act on (known_warnings.py, their one home).
ignore_known_warnings()

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        # The SparkSession hook reads conf/<base|env>/spark*.yml.
        "spark": ["spark*", "spark*/**"],
    },
    "custom_resolvers": {
        # ${required_env:NAME}: the value of an environment variable, or a clear error.
        "required_env": required_env,
        # ${unless_env:NAME,value}: value while NAME is unset, else null (conf/base/mlflow.yml).
        "unless_env": unless_env,
        # ${oc.env:NAME, default}: an optional environment variable (conf/base/globals.yml).
        "oc.env": oc.env,
        # ${package_version:pyspark}: an installed package's version (the logged model's).
        "package_version": version,
    },
}
