"""Train a small model and log the loss curve: one tracking request per batch."""

import time

import mlflow
from mlflow import MlflowClient

EPOCHS = 3
BATCHES = 4


def train_step(epoch, batch):
    return round(1.0 / (1 + epoch * BATCHES + batch), 6)


def log_batch_stats(step, loss):
    mlflow.log_metric("batch_loss", loss, step=step)


class Tracker:
    """Logs to one run through a client it creates on first use."""

    def __init__(self, run_id):
        self.run_id = run_id
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = MlflowClient()
        return self._client

    def log_grad_norms(self, norms):
        # mlflow-lint MLF101: one log_batch per 1000 metrics or 5 s, flushed in `finally`
        _metric_batch = []
        _metric_batch_started = time.monotonic()
        try:
            for step, norm in enumerate(norms):
                _metric_batch.append(
                    mlflow.entities.Metric(
                        key="grad_norm",
                        value=norm,
                        timestamp=int(time.time() * 1000),
                        step=step,
                    ),
                )
                if len(_metric_batch) >= 1000 or time.monotonic() - _metric_batch_started >= 5:
                    self.client.log_batch(self.run_id, metrics=_metric_batch)
                    _metric_batch, _metric_batch_started = [], time.monotonic()
        finally:
            if _metric_batch:
                self.client.log_batch(self.run_id, metrics=_metric_batch)


with mlflow.start_run(run_name="mlf101-flagged") as run:
    tracker = Tracker(run.info.run_id)
    for epoch in range(EPOCHS):
        loss = 0.0
        for batch in range(BATCHES):
            loss = train_step(epoch, batch)
            mlflow.log_metric("train_loss", loss, step=epoch * BATCHES + batch)
            log_batch_stats(epoch * BATCHES + batch, loss)
        mlflow.log_metrics({"epoch_loss": loss}, step=epoch)
    tracker.log_grad_norms([0.5, 0.25, 0.125])

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
                    step=step or 0,
                ),
            )
            if len(_metric_batch) >= 1000 or time.monotonic() - _metric_batch_started >= 5:
                _mlflow_client.log_batch(_mlflow_run_id, metrics=_metric_batch)
                _metric_batch, _metric_batch_started = [], time.monotonic()
            _metric_batch.append(
                mlflow.entities.Metric(
                    key="eval_accuracy",
                    value=0.5 + step / 10,
                    timestamp=int(time.time() * 1000),
                    step=step or 0,
                ),
            )
            if len(_metric_batch) >= 1000 or time.monotonic() - _metric_batch_started >= 5:
                _mlflow_client.log_batch(_mlflow_run_id, metrics=_metric_batch)
                _metric_batch, _metric_batch_started = [], time.monotonic()
            step += 1
    finally:
        if _metric_batch:
            _mlflow_client.log_batch(_mlflow_run_id, metrics=_metric_batch)
