"""The one home of the project's warning filters: the third-party warnings a run cannot act
on, each ignored by its exact message and module. Every other warning still shows
(``tests/test_run_log.py`` fails on any new one in a demo run).

settings.py applies them to every Kedro run, tests/kedro_helpers.py to the captured demo
run, and tests/conftest.py gives them to pytest (``as_pytest_filters``).
"""

from __future__ import annotations

import warnings
from importlib import import_module

#: (message, module) regular expressions of the ignored ``UserWarning``s. Kedro 1.7 and
#: kedro-mlflow 2.0 (the latest) register their resolvers, and Kedro the project's, with
#: OmegaConf.register_new_resolver, which omegaconf 2.4 deprecates. Remove once they call
#: register_resolver.
KNOWN_WARNINGS = (
    (
        r"register_new_resolver\(\) is deprecated",
        r"kedro\.config\.omegaconf_config|kedro_mlflow\.framework\.hooks\.mlflow_hook",
    ),
)


def ignore_known_warnings() -> None:
    """Ignore the known warnings, and import kedro-mlflow's hook module with the warnings
    of its import dropped: MLflow warns that its pyfunc model class (unused here) has no
    type hints inside its own "once" filter, which no ignore filter overrules, and pydantic
    that its configuration classes are old-style. A KedroSession reads the settings before
    it loads the plugin's hooks (a ``kedro`` command loads its CLI first: the type hints
    warning shows once, at start)."""
    for message, module in KNOWN_WARNINGS:
        warnings.filterwarnings(
            "ignore", message=message, category=UserWarning, module=module
        )
    with warnings.catch_warnings(record=True):
        import_module("kedro_mlflow.framework.hooks.mlflow_hook")


def as_pytest_filters() -> list[str]:
    """The known warnings as pytest ``filterwarnings`` lines."""
    return [
        f"ignore:{message}:UserWarning:{module}" for message, module in KNOWN_WARNINGS
    ]
