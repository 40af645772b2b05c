"""sparkify-kedro: churn prediction on the Sparkify event log, with Kedro and PySpark."""

__version__ = "0.1.0"
