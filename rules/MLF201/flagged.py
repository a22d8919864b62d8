"""Compare the final loss of a list of runs, one request per run."""

import mlflow
from mlflow import MlflowClient

with mlflow.start_run(run_name="mlf201-a") as run_a:
    mlflow.log_metric("loss", 0.3)
with mlflow.start_run(run_name="mlf201-b") as run_b:
    mlflow.log_metric("loss", 0.2)

run_ids = [run_a.info.run_id, run_b.info.run_id]
client = MlflowClient()
losses = {}
for run_id in run_ids:
    run = mlflow.get_run(run_id)
    losses[run.info.run_name] = run.data.metrics["loss"]
    last_point = client.get_metric_history(run_id, "loss")[-1]
print(sorted(losses.items()))

pending = list(run_ids)
while pending:  # a work queue: still one request per run
    print(client.get_run(pending.pop()).info.status)

experiment_names = ["Default", "mlf201"]
experiments = [mlflow.get_experiment_by_name(name) for name in experiment_names]

for epoch in range(3):
    experiment = mlflow.set_experiment("mlf201")  # the same lookup on every epoch

while client.get_run(run_a.info.run_id).info.status == "RUNNING":
    pass  # re-reads the run as fast as the server answers
