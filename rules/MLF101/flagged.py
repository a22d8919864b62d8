"""Train a small model and log the loss curve: one tracking request per batch."""

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
        for step, norm in enumerate(norms):
            self.client.log_metric(self.run_id, "grad_norm", norm, step=step)


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
    while step < 3:
        mlflow.log_metric("eval_loss", 0.5 - step / 10, step=step)
        mlflow.log_metric("eval_accuracy", 0.5 + step / 10, step=step)
        step += 1
