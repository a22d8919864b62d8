"""mlflow-lint: static analysis for MLflow logging code."""

__version__ = "0.1.0"
