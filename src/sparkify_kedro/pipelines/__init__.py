"""The project's modular pipelines, one folder each (found by ``find_pipelines``); the flows
composed from them are in ``sparkify_kedro.pipeline_registry``."""
