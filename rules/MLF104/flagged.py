"""Tag a run with where and how it was produced, one request per tag."""

import platform

import mlflow

python_version = platform.python_version()

with mlflow.start_run(run_name="mlf104-flagged"):
    mlflow.set_tag("team", "vision")
    mlflow.set_tag("stage", "experiment")
    mlflow.set_tag("python", python_version)
    mlflow.log_metric("accuracy", 0.91)

with mlflow.start_run(run_name="mlf104-client") as run:
    client = mlflow.MlflowClient()
    # where the run came from
    client.set_tag(run.info.run_id, "source", "nightly")
    client.set_tag(run.info.run_id, "python", python_version)
    client.set_tag(run.info.run_id, "team", "vision")
