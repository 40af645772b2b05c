"""Project settings: hooks, and how configuration is loaded.

See https://docs.kedro.org/en/stable/configure/configuration_basics/ for the defaults.
"""

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from sparkify_kedro.config_resolvers import required_env
from sparkify_kedro.hooks import NodeTimingHooks, SparkHooks
from sparkify_kedro.known_warnings import ignore_known_warnings

HOOKS = (SparkHooks(), NodeTimingHooks())

# Python warnings nobody here can act on (only those: every other one shows).
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
        # ${oc.env:NAME, default}: an optional environment variable (conf/base/globals.yml).
        "oc.env": oc.env,
    },
}
