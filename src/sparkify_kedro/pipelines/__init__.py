"""The project's modular pipelines, one folder each; ``sparkify_kedro.pipeline_registry``
registers every folder and the flows composed from them."""
