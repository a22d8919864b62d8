"""Everything logged inside the run, or to it explicitly."""

import mlflow
from mlflow import MlflowClient

with mlflow.start_run(run_name="mlf304-clean") as run:
    with mlflow.start_run(run_name="mlf304-clean-child", nested=True):
        mlflow.log_metric("child_loss", 0.5)
    mlflow.log_metric("final_score", 0.93)  # the outer run is still active

MlflowClient().set_tag(run.info.run_id, "reviewed", "yes")
