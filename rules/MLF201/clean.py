"""One query for all runs, one for all experiments; pagination and polling loops are fine."""

import time

import mlflow
from mlflow import MlflowClient

with mlflow.start_run(run_name="mlf201-clean") as run:
    mlflow.log_metric("loss", 0.3)

run_ids = [run.info.run_id]
quoted = ", ".join(f"'{run_id}'" for run_id in run_ids)
runs = mlflow.search_runs(filter_string=f"attributes.run_id IN ({quoted})", search_all_experiments=True)
print(runs[["run_id", "metrics.loss"]])

client = MlflowClient()
experiment_ids = [run.info.experiment_id]
token = None
while True:  # pagination: each request fetches the next page
    page = client.search_runs(experiment_ids, max_results=100, page_token=token)
    token = page.token
    if not token:
        break

for _ in range(3):  # polling: waits between requests
    status = client.get_run(run.info.run_id).info.status
    if status == "FINISHED":
        break
    time.sleep(1)

by_name = {experiment.name: experiment for experiment in mlflow.search_experiments()}
experiments = [by_name.get(name) for name in ["Default", "mlf201"]]
