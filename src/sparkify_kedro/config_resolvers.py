"""OmegaConf resolvers used by the project's configuration files."""

from __future__ import annotations

import os


class MissingEnvironmentVariableError(RuntimeError):
    """An environment the run needs names a variable that is not set."""


def required_env(name: str) -> str:
    """Return the environment variable ``name``, or fail with a message naming it.

    Used as ``${required_env:SPARK_MASTER_URL}`` in ``conf/cluster``: a cluster run must not
    fall back to a laptop default, so an unset or empty variable stops the run at once.
    """
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingEnvironmentVariableError(
            f"Environment variable {name} is not set. The configuration of this Kedro "
            f"environment needs it: export {name}=... before running "
            f"(see README, 'Environments')."
        )
    return value


def unless_env(name: str, value: object) -> object:
    """Return ``value`` while the environment variable ``name`` is unset or empty, else None.

    Used as ``${unless_env:MLFLOW_TRACKING_URI,...}`` in ``conf/base/mlflow.yml``: the local
    MLflow store keeps its artifacts beside its database, while a tracking server named by
    the variable decides where its artifacts go.
    """
    return None if os.environ.get(name, "").strip() else value
