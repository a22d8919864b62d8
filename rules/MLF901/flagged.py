"""Batched metrics, but still one request per batch step."""

import mlflow

with mlflow.start_run(run_name="mlf901-flagged"):
    for epoch in range(2):
        for batch in range(3):
            step = epoch * 3 + batch
            mlflow.log_metrics({"loss": 1.0 / (step + 1), "lr": 0.01}, step=step)
