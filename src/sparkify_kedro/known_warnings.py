"""The third-party warnings a run cannot act on, each ignored by its exact message and module.

Every other warning still shows. The ones a demo run used to print were fixed at their cause
(conf/README.md, Logging); ``tests/test_run_log.py`` fails on any new one.
"""

from __future__ import annotations

import warnings


def ignore_known_warnings() -> None:
    """Add the project's narrow ``ignore`` filters to Python's warning filters."""
    # Kedro 1.7 (the latest) registers its resolvers, and the project's through it, with
    # OmegaConf.register_new_resolver, which omegaconf 2.4 deprecates: three warnings per
    # run that only Kedro can fix; kedro-mlflow 2.0 (the latest) registers its own the
    # same way. Remove once they call register_resolver.
    warnings.filterwarnings(
        "ignore",
        message=r"register_new_resolver\(\) is deprecated",
        category=UserWarning,
        module=r"kedro\.config\.omegaconf_config|kedro_mlflow\.framework\.hooks\.mlflow_hook",
    )
