"""Log a flattened config and each epoch's class scores item by item, and copy a run's
params."""

import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

# a nested config made flat: one entry per leaf, as many as the config has
flat_config = {"model.learning_rate": 0.01, "model.max_depth": 6, "data.subsample": 0.8}

with mlflow.start_run(run_name="mlf105-flagged") as source:
    mlflow.log_params(flat_config)

    for epoch in range(3):
        class_scores = {"cat": 0.91 - epoch / 100, "dog": 0.88, "bird": 0.75 + epoch / 100}
        mlflow.log_metrics(class_scores, step=epoch)

        # the tags the model registry reads
        mlflow.set_tags({"stage": f"epoch-{epoch}", "task": "classification"})


def copy_params(client: MlflowClient, params, destination_run_id):
    """An export tool's helper: logs the params it is handed (one run's, copied) into
    another run, as often and as many as its callers like."""
    client.log_batch(
        destination_run_id,
        params=[Param(key=key, value=str(value)) for key, value in params.items()],
    )


with mlflow.start_run(run_name="mlf105-copy") as destination:
    client = MlflowClient()
    copy_params(client, client.get_run(source.info.run_id).data.params, destination.info.run_id)


class MlflowWriter:
    """A wrapper as trainer libraries write them: `log_metrics` and `log_params` methods
    that call the client once per item."""

    def __init__(self, run_id):
        self.client = MlflowClient()
        self.run_id = run_id

    def log_params(self, params):
        self.client.log_batch(
            self.run_id,
            params=[Param(key=key, value=str(value)) for key, value in params.items()],
        )

    def log_metrics(self, metrics, step):
        self.client.log_batch(
            self.run_id,
            metrics=[
                Metric(
                    key=key,
                    value=value,
                    timestamp=int(time.time() * 1000),
                    step=step or 0,
                )
                for key, value in metrics.items()
            ],
        )


with mlflow.start_run(run_name="mlf105-writer") as run:
    writer = MlflowWriter(run.info.run_id)
    writer.log_params({"optimizer": "adam", "epochs": 3})
    for step in range(3):
        writer.log_metrics({"loss": 1.0 / (step + 1), "accuracy": 0.5 + step / 10}, step)
