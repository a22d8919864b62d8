"""Log a training run's metrics after each epoch, one request per metric."""

import time

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

EPOCHS = 3


class RunCopier:
    """An export tool: copies a finished run's per-epoch history into another run."""

    def __init__(self, run_id):
        self.run_id = run_id
        self.client = MlflowClient()

    def copy_history(self, history):
        for epoch, row in enumerate(history):
            timestamp_ms = int(time.time() * 1000)
            self.client.log_batch(
                self.run_id,
                metrics=[
                    Metric(
                        key="val_loss",
                        value=row["val_loss"],
                        timestamp=timestamp_ms,
                        step=epoch,
                    ),
                    Metric(
                        key="accuracy",
                        value=row["accuracy"],
                        timestamp=timestamp_ms,
                        step=epoch,
                    ),  # 0-1
                ],
            )


with mlflow.start_run(run_name="mlf102-flagged") as run:
    history = []
    for epoch in range(EPOCHS):
        train_loss = round(1.0 / (epoch + 1), 4)
        val_loss = round(train_loss * 1.1, 4)
        accuracy = round(0.5 + epoch / 10, 4)

        # the optimizer's learning rate, decayed each epoch
        mlflow.log_metrics(
            {
                "train_loss": train_loss,
                "val_loss": val_loss,  # on the held-out split
                "lr": 0.01 * 0.9**epoch,
                "accuracy": accuracy,
            },
            step=epoch,
        )
        history.append({"val_loss": val_loss, "accuracy": accuracy})

with mlflow.start_run(run_name="mlf102-copy") as copy:
    RunCopier(copy.info.run_id).copy_history(history)
