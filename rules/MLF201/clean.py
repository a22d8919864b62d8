"""One query for all runs, one for all experiments; loops that page, poll, ask, or read once."""

import threading
import time
import uuid

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

stop = threading.Event()


def watch(run_id):
    while not stop.is_set():  # polling: waits on an event between requests
        if client.get_run(run_id).info.status != "RUNNING":
            return
        stop.wait(5)


def choose_experiment():
    while True:  # interactive: one lookup per answer, until one exists
        name = input("Experiment name: ")
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment


by_name = {experiment.name: experiment for experiment in mlflow.search_experiments()}
experiments = [by_name.get(name) for name in ["Default", "mlf201"]]

# Every point of every metric: MLflow has no batched history read.
histories = {key: client.get_metric_history(run.info.run_id, key) for key in run.data.metrics}

# A written-out handful of reads is not N+1.
first, second = (client.get_experiment(experiment_id) for experiment_id in ("0", run.info.experiment_id))

best_index = 0
for index, run_id in enumerate(run_ids):
    if index == best_index:  # holds on one iteration
        best_run = client.get_run(run_id)


class Tracker:
    def __init__(self):
        self._experiment = None
        self.points = []

    def record(self, values):
        for step, value in enumerate(values):
            if self._experiment is None:  # looked up on the first iteration only
                self._experiment = mlflow.get_experiment_by_name("Default")
            self.points.append((self._experiment.experiment_id, step, value))


def experiment_id_for(name, experiment_id=None):
    if experiment_id is None:  # the loop below always passes one
        experiment_id = mlflow.get_experiment_by_name(name).experiment_id
    return experiment_id


def runs_of(experiment_names):
    # Experiments the caller picked, looked up by name: no lookup takes several names, and
    # listing every experiment of the workspace costs more than a handful of lookups.
    experiments = [client.get_experiment_by_name(name) for name in experiment_names]
    return client.search_runs([e.experiment_id for e in experiments if e is not None])


print(len(runs_of(["Default"])))

default_id = run.info.experiment_id
resolved = [experiment_id_for(name, experiment_id=default_id) for name in ["a", "b", "c", "d"]]

run_name = "mlf201-clean"
while mlflow.search_runs(filter_string=f"attributes.run_name = '{run_name}'").shape[0]:
    run_name = f"mlf201-{uuid.uuid4().hex[:6]}"  # retries until the name is free

# One search per experiment, then one history read per run it found: the search is one
# request beside the reads of its runs (the per-run reads are the cost to look at).
for experiment_id in experiment_ids:
    found_runs = client.search_runs([experiment_id], max_results=5)
    for found_run in found_runs:
        losses = client.get_metric_history(found_run.info.run_id, "loss")
