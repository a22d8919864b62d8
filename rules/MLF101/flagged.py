"""Train a small model and log the loss curve: one tracking request per batch."""

import mlflow
from mlflow import MlflowClient

EPOCHS = 3
BATCHES = 4


def train_step(epoch, batch):
    return round(1.0 / (1 + epoch * BATCHES + batch), 6)


def log_epoch_summary(epoch, loss):
    mlflow.log_metric("epoch_loss", loss, step=epoch)


with mlflow.start_run(run_name="mlf101-flagged") as run:
    client = MlflowClient()
    for epoch in range(EPOCHS):
        loss = 0.0
        for batch in range(BATCHES):
            loss = train_step(epoch, batch)
            mlflow.log_metric("train_loss", loss, step=epoch * BATCHES + batch)
        client.log_metric(run.info.run_id, "lr", 0.1 / (epoch + 1), step=epoch)
        log_epoch_summary(epoch, loss)

    step = 0
    while step < 3:
        mlflow.log_metric("eval_loss", 0.5 - step / 10, step=step)
        step += 1
