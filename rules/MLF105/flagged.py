"""Log a flattened config and each epoch's class scores item by item, and copy a run's
params."""

import mlflow
from mlflow import MlflowClient

# a nested config made flat: one entry per leaf, as many as the config has
flat_config = {"model.learning_rate": 0.01, "model.max_depth": 6, "data.subsample": 0.8}

with mlflow.start_run(run_name="mlf105-flagged") as source:
    for name, setting in flat_config.items():
        mlflow.log_param(name, setting)

    for epoch in range(3):
        class_scores = {"cat": 0.91 - epoch / 100, "dog": 0.88, "bird": 0.75 + epoch / 100}
        for label, score in class_scores.items():
            mlflow.log_metric(label, score, step=epoch)

        for tag, text in {"stage": f"epoch-{epoch}", "task": "classification"}.items():
            # the tags the model registry reads
            mlflow.set_tag(tag, text)


def copy_params(client: MlflowClient, params, destination_run_id):
    """An export tool's helper: logs the params it is handed (one run's, copied) into
    another run, as often and as many as its callers like."""
    for key, value in params.items():
        client.log_param(destination_run_id, key, value)


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
        for key, value in params.items():
            self.client.log_param(self.run_id, key, value)

    def log_metrics(self, metrics, step):
        for key, value in metrics.items():
            self.client.log_metric(self.run_id, key, value, step=step)


with mlflow.start_run(run_name="mlf105-writer") as run:
    writer = MlflowWriter(run.info.run_id)
    writer.log_params({"optimizer": "adam", "epochs": 3})
    for step in range(3):
        writer.log_metrics({"loss": 1.0 / (step + 1), "accuracy": 0.5 + step / 10}, step)
