"""Tag a batch of finished runs, creating a client for each one."""

import mlflow
from mlflow import MlflowClient

tracking_uri = mlflow.get_tracking_uri()
run_ids = []
for name in ("mlf202-a", "mlf202-b"):
    with mlflow.start_run(run_name=name) as run:
        run_ids.append(run.info.run_id)

client = MlflowClient(tracking_uri)
for run_id in run_ids:
    client.set_tag(run_id, "reviewed", "yes")
