"""One client, created before the loop."""

import mlflow
from mlflow import MlflowClient

with mlflow.start_run(run_name="mlf202-clean") as run:
    pass

client = MlflowClient(mlflow.get_tracking_uri())
for run_id in [run.info.run_id]:
    client.set_tag(run_id, "reviewed", "yes")
