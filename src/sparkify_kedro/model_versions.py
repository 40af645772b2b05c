"""The saved model and its record load as one version.

A training run saves ``best_model`` and ``best_model_info`` under one save version.
``kedro run --load-versions best_model:<version>`` pins only the model, so Kedro would pair
it with the latest record; the hook below pins the record to the model's version (or the
model to the record's); two different versions stop the run.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import DataCatalog

logger = logging.getLogger(__name__)

#: Versioned together: one training run writes both under its save version.
MODEL_RECORD = ("best_model", "best_model_info")


def paired_load_version(load_versions: dict[str, str] | None) -> str | None:
    """The version ``load_versions`` pins for the model or its record, or ``None``.

    Raises ``ValueError`` when the two are pinned to different versions.
    """
    pinned = {(load_versions or {}).get(name) for name in MODEL_RECORD} - {None}
    if len(pinned) > 1:
        raise ValueError(
            f"--load-versions pins best_model and best_model_info to different versions "
            f"({', '.join(sorted(pinned))}): a model scores with its own record. Pin one "
            "of them; the other follows."
        )
    return pinned.pop() if pinned else None


class ModelVersionHooks:
    """Loads ``best_model`` and ``best_model_info`` at the same version when one is pinned."""

    @hook_impl
    def after_catalog_created(
        self,
        catalog: DataCatalog,
        conf_catalog: dict[str, Any],
        conf_creds: dict[str, Any],
        save_version: str | None,
        load_versions: dict[str, str] | None,
    ) -> None:
        version = paired_load_version(load_versions)
        if version is None:
            return
        for name in MODEL_RECORD:
            if (load_versions or {}).get(name) != version:
                pinned = DataCatalog.from_config(
                    {name: conf_catalog[name]},
                    conf_creds,
                    load_versions={name: version},
                    save_version=save_version,
                )
                catalog[name] = pinned.get(name)
                logger.info(
                    "%s loads version %s (pinned with the model)", name, version
                )
