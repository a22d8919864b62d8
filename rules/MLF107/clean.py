"""Artifact uploads that are not one call per file of a listing."""

import os
import shutil
import tempfile

import mlflow

output_dir = tempfile.mkdtemp()
for name in ("a.txt", "b.txt"):
    with open(os.path.join(output_dir, name), "w") as handle:
        handle.write(name)

with mlflow.start_run(run_name="mlf107-clean"):
    mlflow.log_artifacts(output_dir, artifact_path="evaluation")
    archive = shutil.make_archive(os.path.join(tempfile.mkdtemp(), "evaluation"), "zip", output_dir)
    mlflow.log_artifact(archive)
    for epoch in range(2):  # a checkpoint per epoch is not a directory listing
        checkpoint = os.path.join(output_dir, "a.txt")
        mlflow.log_artifact(checkpoint, artifact_path=f"checkpoints/{epoch}")
