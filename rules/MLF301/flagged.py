"""Log a learning rate, then log it again after a schedule change."""

import mlflow

with mlflow.start_run(run_name="mlf301-flagged"):
    mlflow.log_param("learning_rate", 0.1)
    mlflow.log_params({"optimizer": "sgd", "momentum": 0.9})
    mlflow.log_param("learning_rate", 0.01)  # raises: params are immutable
