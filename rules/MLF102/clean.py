"""Adjacent log_metric calls that must not be merged, or are not worth merging."""

import time

import mlflow
from mlflow import MlflowClient

with mlflow.start_run(run_name="mlf102-clean") as run:
    first = MlflowClient()
    second = MlflowClient()
    for epoch in range(3):
        mlflow.log_metrics({"train_loss": 0.4, "val_loss": 0.5}, step=epoch)  # already batched

        # different steps: one log_metrics call carries a single step
        mlflow.log_metric("train_loss", 0.3, step=2 * epoch)
        mlflow.log_metric("val_loss", 0.45, step=2 * epoch + 1)

        # an explicit timestamp: log_metrics would stamp one timestamp on both
        mlflow.log_metric("latency_ms", 12.5, step=epoch, timestamp=int(time.time() * 1000))
        mlflow.log_metric("throughput", 830.0, step=epoch, timestamp=int(time.time() * 1000))

        # two clients, or two runs: no one log_batch carries both
        first.log_metric(run.info.run_id, "a", 1.0, step=epoch)
        second.log_metric(run.info.run_id, "b", 2.0, step=epoch)
        with mlflow.start_run(run_name=f"child-{epoch}", nested=True) as child:
            first.log_metric(run.info.run_id, "c", 3.0, step=epoch)
            first.log_metric(child.info.run_id, "d", 4.0, step=epoch)

    # a script's own code runs once per run: fewer than ten calls (option `min-calls-once`)
    # are not reported, a few requests saved once are noise next to the loop's logging
    mlflow.log_metric("best_val_loss", 0.45)
    mlflow.log_metric("epochs_trained", 3)


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
