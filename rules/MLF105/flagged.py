"""Log a config dict and per-class scores item by item, and copy a run's params."""

import mlflow
from mlflow import MlflowClient

hyperparameters = {"learning_rate": 0.01, "max_depth": 6, "subsample": 0.8}
class_scores = {"cat": 0.91, "dog": 0.88, "bird": 0.75}

with mlflow.start_run(run_name="mlf105-flagged") as source:
    for name, setting in hyperparameters.items():
        mlflow.log_param(name, setting)

    for label, score in class_scores.items():
        mlflow.log_metric(label, score, step=10)

    for tag, text in {"framework": "xgboost", "task": "classification"}.items():
        # the tags the model registry reads
        mlflow.set_tag(tag, text)


def copy_params(client: MlflowClient, source_run_id, destination_run_id):
    """An export tool's copy of one run's params into another run."""
    params = client.get_run(source_run_id).data.params
    for key, value in params.items():
        client.log_param(destination_run_id, key, value)


with mlflow.start_run(run_name="mlf105-copy") as destination:
    copy_params(MlflowClient(), source.info.run_id, destination.info.run_id)
