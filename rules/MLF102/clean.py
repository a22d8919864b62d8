"""Adjacent log_metric calls that must not be merged."""

import time

import mlflow
from mlflow import MlflowClient

with mlflow.start_run(run_name="mlf102-clean") as run:
    mlflow.log_metrics({"train_loss": 0.4, "val_loss": 0.5}, step=1)  # already batched

    # different steps: one log_metrics call carries a single step
    mlflow.log_metric("train_loss", 0.3, step=2)
    mlflow.log_metric("val_loss", 0.45, step=3)

    # an explicit timestamp: log_metrics would stamp one timestamp on both
    mlflow.log_metric("latency_ms", 12.5, timestamp=int(time.time() * 1000))
    mlflow.log_metric("throughput", 830.0, timestamp=int(time.time() * 1000))

    # two clients, or two runs: no one log_batch carries both
    first, second = MlflowClient(), MlflowClient()
    first.log_metric(run.info.run_id, "a", 1.0)
    second.log_metric(run.info.run_id, "b", 2.0)
    with mlflow.start_run(run_name="child", nested=True) as child:
        first.log_metric(run.info.run_id, "c", 3.0)
        first.log_metric(child.info.run_id, "d", 4.0)


def log_summary(best_val_loss, epochs_trained):
    """Called once per run: fewer than ten metrics (option `min-calls-once`) are not worth
    a finding there."""
    mlflow.log_metric("best_val_loss", best_val_loss)
    mlflow.log_metric("epochs_trained", epochs_trained)
    mlflow.log_metric("lr", 0.01)
    # a written-out handful of splits runs three times, once per run: like three statements
    for split in ("train", "val", "test"):
        mlflow.log_metric(f"{split}_loss", 0.4)
        mlflow.log_metric(f"{split}_seen", 1.0)
