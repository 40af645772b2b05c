"""OmegaConf resolvers used by the project's configuration files."""

from __future__ import annotations

import os


class MissingEnvironmentVariableError(RuntimeError):
    """An environment the run needs names a variable that is not set."""


def required_env(name: str) -> str:
    """The environment variable ``name``; unset or empty, an error naming it (a cluster
    run, ``${required_env:SPARK_MASTER_URL}``, must not fall back to a laptop default)."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingEnvironmentVariableError(
            f"Environment variable {name} is not set. The configuration of this Kedro "
            f"environment needs it: export {name}=... before running "
            f"(see README, 'Environments')."
        )
    return value


def unless_env(name: str, value: object) -> object:
    """``value`` while the environment variable ``name`` is unset or empty, else None
    (``${unless_env:MLFLOW_TRACKING_URI,...}``: a tracking server places its artifacts)."""
    return None if os.environ.get(name, "").strip() else value
