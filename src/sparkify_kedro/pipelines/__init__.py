"""The project's modular pipelines, one folder each (found by ``find_pipelines``)."""

#: The stages that turn ``raw_events`` into scores and reports, in order. ``kedro run``
#: (``__default__``) runs them all; the ``demo`` pipeline runs them on simulated events.
PRODUCTION_STAGES = (
    "data_processing",
    "churn_labeling",
    "feature_engineering",
    "modeling",
    "scoring",
    "reporting",
)
