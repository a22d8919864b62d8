"""Train a small model and log the loss curve: one tracking request per batch."""

import time
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
        # mlflow-lint MLF101: one log_batch per 1000 metrics or 5 s, flushed in `finally`
        _mlflow_client = mlflow.MlflowClient()
        _mlflow_run_id = mlflow.active_run().info.run_id
        _metric_batch = []
        _metric_batch_started = time.monotonic()
        try:
            for batch in range(BATCHES):
                loss = train_step(epoch, batch)
                _metric_batch.append(
                    mlflow.entities.Metric(
                        key="train_loss",
                        value=loss,
                        timestamp=int(time.time() * 1000),
                        step=epoch * BATCHES + batch,
                    ),
                )
                if len(_metric_batch) >= 1000 or time.monotonic() - _metric_batch_started >= 5:
                    _mlflow_client.log_batch(_mlflow_run_id, metrics=_metric_batch)
                    _metric_batch, _metric_batch_started = [], time.monotonic()
        finally:
            if _metric_batch:
                _mlflow_client.log_batch(_mlflow_run_id, metrics=_metric_batch)
        client.log_metric(run.info.run_id, "lr", 0.1 / (epoch + 1), step=epoch)
        log_epoch_summary(epoch, loss)

    step = 0
    # mlflow-lint MLF101: one log_batch per 1000 metrics or 5 s, flushed in `finally`
    _mlflow_client = mlflow.MlflowClient()
    _mlflow_run_id = mlflow.active_run().info.run_id
    _metric_batch = []
    _metric_batch_started = time.monotonic()
    try:
        while step < 3:
            _metric_batch.append(
                mlflow.entities.Metric(
                    key="eval_loss",
                    value=0.5 - step / 10,
                    timestamp=int(time.time() * 1000),
                    step=step,
                ),
            )
            if len(_metric_batch) >= 1000 or time.monotonic() - _metric_batch_started >= 5:
                _mlflow_client.log_batch(_mlflow_run_id, metrics=_metric_batch)
                _metric_batch, _metric_batch_started = [], time.monotonic()
            step += 1
    finally:
        if _metric_batch:
            _mlflow_client.log_batch(_mlflow_run_id, metrics=_metric_batch)
