"""Log a config dict and per-class scores item by item."""

import mlflow

hyperparameters = {"learning_rate": 0.01, "max_depth": 6, "subsample": 0.8}
class_scores = {"cat": 0.91, "dog": 0.88, "bird": 0.75}

with mlflow.start_run(run_name="mlf105-flagged"):
    for name, setting in hyperparameters.items():
        mlflow.log_param(name, setting)

    for label, score in class_scores.items():
        mlflow.log_metric(label, score, step=10)

    for tag, text in {"framework": "xgboost", "task": "classification"}.items():
        mlflow.set_tag(tag, text)
