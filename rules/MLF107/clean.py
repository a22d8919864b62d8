"""Uploads that are not one call per file: a folder or an archive at once, one picked entry,
a few named files, a checkpoint per epoch, one file per run."""

import json
import os
import shutil
import tempfile

import mlflow
from mlflow import MlflowClient


def write(folder: str, name: str, content: object) -> str:
    path = os.path.join(folder, name)
    with open(path, "w") as out:
        json.dump(content, out)
    return path


output_dir = tempfile.mkdtemp()
for name in ("model.pkl", "config.json", "metrics.json", "notes.json"):
    write(output_dir, name, {"name": name})

with mlflow.start_run(run_name="mlf107-clean") as run:
    # The whole folder in one call, or one archive of it (one request on any store).
    mlflow.log_artifacts(output_dir, artifact_path="evaluation")
    archive = shutil.make_archive(os.path.join(tempfile.mkdtemp(), "evaluation"), "zip", output_dir)
    mlflow.log_artifact(archive)

    # The listing is searched for one file: one upload.
    for filename in os.listdir(output_dir):
        if filename == "model.pkl":
            mlflow.log_artifact(os.path.join(output_dir, filename), artifact_path="model")
    for filename in sorted(os.listdir(output_dir)):
        if filename.endswith(".json"):
            mlflow.log_artifact(os.path.join(output_dir, filename), artifact_path="first-json")
            break

    # A few named files, each written and uploaded on its own.
    for kind in ("split", "gain"):
        path = write(tempfile.mkdtemp(), f"importance_{kind}.json", {"kind": kind})
        mlflow.log_artifact(path, artifact_path="importance")

    # A checkpoint per epoch keeps the run current while it trains.
    for epoch in range(2):
        checkpoint = write(output_dir, f"checkpoint_{epoch}.json", {"epoch": epoch})
        mlflow.log_artifact(checkpoint, artifact_path=f"checkpoints/{epoch}")

    # Two uploads side by side (fewer than three).
    mlflow.log_artifact(os.path.join(output_dir, "config.json"), artifact_path="final")
    mlflow.log_artifact(os.path.join(output_dir, "metrics.json"), artifact_path="final")
    parent_id = run.info.run_id

# One file per run: nothing to put together.
client = MlflowClient()
experiment_id = client.get_run(parent_id).info.experiment_id
runs = [client.create_run(experiment_id, run_name=f"fold-{fold}") for fold in range(4)]
for child in runs:
    report = write(tempfile.mkdtemp(), "report.json", {"run": child.info.run_name})
    client.log_artifact(child.info.run_id, report)
    client.set_terminated(child.info.run_id)

# A run per iteration: each uploads its own file.
for fold in range(4):
    with mlflow.start_run(run_name=f"cv-{fold}"):
        mlflow.log_artifact(write(tempfile.mkdtemp(), f"fold_{fold}.json", {"fold": fold}))
