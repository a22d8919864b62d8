"""Log a config dict and per-class scores item by item, and copy a run's params."""

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Param

hyperparameters = {"learning_rate": 0.01, "max_depth": 6, "subsample": 0.8}
class_scores = {"cat": 0.91, "dog": 0.88, "bird": 0.75}

with mlflow.start_run(run_name="mlf105-flagged") as source:
    mlflow.log_params(hyperparameters)

    mlflow.log_metrics(class_scores, step=10)

    # the tags the model registry reads
    mlflow.set_tags({"framework": "xgboost", "task": "classification"})


def copy_params(client: MlflowClient, source_run_id, destination_run_id):
    """An export tool's copy of one run's params into another run."""
    params = client.get_run(source_run_id).data.params
    client.log_batch(
        destination_run_id,
        params=[Param(key=key, value=str(value)) for key, value in params.items()],
    )


with mlflow.start_run(run_name="mlf105-copy") as destination:
    copy_params(MlflowClient(), source.info.run_id, destination.info.run_id)
