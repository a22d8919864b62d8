"""Adjacent log_metric calls that must not be merged."""

import time

import mlflow

with mlflow.start_run(run_name="mlf102-clean"):
    mlflow.log_metrics({"train_loss": 0.4, "val_loss": 0.5}, step=1)  # already batched

    # different steps: one log_metrics call carries a single step
    mlflow.log_metric("train_loss", 0.3, step=2)
    mlflow.log_metric("val_loss", 0.45, step=3)

    # an explicit timestamp: log_metrics would stamp one timestamp on both
    mlflow.log_metric("latency_ms", 12.5, timestamp=int(time.time() * 1000))
    mlflow.log_metric("throughput", 830.0, timestamp=int(time.time() * 1000))

    mlflow.log_metric("lr", 0.01)
    # a comment between the calls stays where it is
    mlflow.log_metric("momentum", 0.9)
