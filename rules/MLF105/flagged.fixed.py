"""Log a config dict and per-class scores item by item."""

import mlflow

hyperparameters = {"learning_rate": 0.01, "max_depth": 6, "subsample": 0.8}
class_scores = {"cat": 0.91, "dog": 0.88, "bird": 0.75}

with mlflow.start_run(run_name="mlf105-flagged"):
    mlflow.log_params(hyperparameters)

    mlflow.log_metrics(class_scores, step=10)

    mlflow.set_tags({"framework": "xgboost", "task": "classification"})
