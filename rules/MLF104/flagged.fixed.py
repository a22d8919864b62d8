"""Tag a run with where and how it was produced, one request per tag."""

import platform

import mlflow
from mlflow.entities import RunTag

python_version = platform.python_version()

with mlflow.start_run(run_name="mlf104-flagged"):
    mlflow.set_tags({"team": "vision", "stage": "experiment", "python": python_version})
    mlflow.log_metric("accuracy", 0.91)

with mlflow.start_run(run_name="mlf104-client") as run:
    client = mlflow.MlflowClient()
    # where the run came from
    client.log_batch(
        run.info.run_id,
        tags=[
            RunTag(key="source", value="nightly"),
            RunTag(key="python", value=str(python_version)),
            RunTag(key="team", value="vision"),
        ],
    )
