"""sparkify-kedro: churn prediction on the Sparkify event log, with Kedro and PySpark."""

import os

__version__ = "0.1.0"

# MLflow 3 starts sending usage telemetry when it is imported unless this is set (it reads
# DO_NOT_TRACK only when it is "true"). Kedro imports this package (its settings) before any
# plugin, and the project's modules import mlflow only through it, so every `kedro` command,
# notebook session and test has it. Export MLFLOW_DISABLE_TELEMETRY=false to opt in.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
