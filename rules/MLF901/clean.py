"""Batched metrics logged every N steps, or once per epoch; loops that are the batching itself,
and one loop per run."""

import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

with mlflow.start_run(run_name="mlf901-clean") as run:
    for epoch in range(2):
        for batch in range(3):
            step = epoch * 3 + batch
            if step % 2 == 0:
                mlflow.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        mlflow.log_metrics({"epoch_loss": 1.0 / (epoch + 1)}, step=epoch)

client = MlflowClient()
now = int(time.time() * 1000)

# Each fold's points go out in chunks of at most 1000 metrics: the inner loop is the batching.
for fold in range(2):
    points = [Metric(f"fold{fold}.score", i / 2500, now, i) for i in range(2500)]
    for start in range(0, len(points), 1000):
        client.log_batch(run.info.run_id, metrics=points[start : start + 1000])

# One run per seed, created and terminated in the loop: one epoch loop per run.
for seed in range(2):
    seed_run = client.create_run(run.info.experiment_id, run_name=f"mlf901-seed-{seed}")
    for epoch in range(3):
        client.log_batch(seed_run.info.run_id, metrics=[Metric("loss", 1.0 / (epoch + 1), now, epoch)])
    client.set_terminated(seed_run.info.run_id)
