"""Metrics in loops with a step, or with a key per iteration."""

import mlflow

with mlflow.start_run(run_name="mlf108-clean"):
    for epoch in range(3):
        mlflow.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)
    for fold in range(3):
        # one point per key: no step needed (and five folds are five requests, on purpose)
        mlflow.log_metric(f"fold_{fold}_auc", 0.8 + fold / 100)  # noqa: MLF101
