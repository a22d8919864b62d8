"""Collect per-epoch summaries and log them once."""

import mlflow

with mlflow.start_run(run_name="mlf109-clean"):
    summaries = []
    for epoch in range(3):
        summaries.append({"epoch": epoch, "loss": round(1.0 / (epoch + 1), 4)})
        mlflow.log_metrics({"loss": summaries[-1]["loss"]}, step=epoch)
    mlflow.log_dict({"epochs": summaries}, "summaries.json")
