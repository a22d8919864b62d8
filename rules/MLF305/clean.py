"""Asynchronous logging inside a run that ends (and so flushes the queue)."""

import mlflow

mlflow.config.enable_async_logging()
with mlflow.start_run(run_name="mlf305-clean"):
    for step in range(100):
        mlflow.log_metrics({"loss": 1.0 / (step + 1)}, step=step, synchronous=False)
