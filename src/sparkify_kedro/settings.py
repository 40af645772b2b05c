"""Project settings: hooks, and how configuration is loaded.

See https://docs.kedro.org/en/stable/configure/configuration_basics/ for the defaults.
"""

import warnings

from kedro.config import OmegaConfigLoader
from omegaconf.resolvers import oc

from sparkify_kedro.config_resolvers import required_env
from sparkify_kedro.hooks import NodeTimingHooks, SparkHooks

HOOKS = (SparkHooks(), NodeTimingHooks())

# Kedro 1.7 (the latest) registers its resolvers with OmegaConf.register_new_resolver, which
# omegaconf 2.4 deprecates: three warnings per run that nobody here can act on. Only that
# message, and only from Kedro's config loader, is ignored; the project's own resolvers go
# through Kedro too. Remove once Kedro calls register_resolver.
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module=r"kedro\.config\.omegaconf_config",
)

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
