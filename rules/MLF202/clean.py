"""One client, created before the loop, passed to helpers; loops where building one is incidental."""

import threading
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

with mlflow.start_run(run_name="mlf202-clean") as run:
    pass

client = MlflowClient(mlflow.get_tracking_uri())
run_ids = [run.info.run_id]
for run_id in run_ids:
    client.set_tag(run_id, "reviewed", "yes")


def mark_finished(run_id, client=None):
    if client is None:  # only when the caller has none: the loop below passes one
        client = MlflowClient()
    client.set_terminated(run_id, status="FINISHED")


for run_id in run_ids:
    mark_finished(run_id, client=client)

# A written-out handful of iterations.
for experiment_id in ("0", run.info.experiment_id):
    print(MlflowClient().get_experiment(experiment_id).name)

# Size-capped chunks of one collection: a few iterations, each a whole batch.
now = int(time.time() * 1000)
points = [Metric("score", i / 10, now, i) for i in range(2500)]
for start in range(0, len(points), 1000):
    MlflowClient().log_batch(run.info.run_id, metrics=points[start : start + 1000])

stop = threading.Event()


def watch(run_id):
    while not stop.is_set():  # polling: waits between iterations
        if MlflowClient().get_run(run_id).info.status != "RUNNING":
            return
        stop.wait(10)


class Exporter:
    def __init__(self):
        self._client = None

    def export(self, run_ids):
        for run_id in run_ids:
            if self._client is None:  # built on the first iteration only
                self._client = MlflowClient()
            self._client.set_terminated(run_id, status="FINISHED")


def archive(run_id):
    # A client per call of a helper that sends a request per call anyway: reported only with
    # the option `through-helpers = true`.
    MlflowClient().set_terminated(run_id, status="FINISHED")


for run_id in run_ids:
    archive(run_id)
