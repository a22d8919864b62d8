"""Save evaluation plots and reports, then upload them one file at a time."""

import os
import tempfile
from pathlib import Path

import mlflow

output_dir = tempfile.mkdtemp()
for name in ("confusion_matrix.txt", "roc.txt", "report.md"):
    with open(os.path.join(output_dir, name), "w") as handle:
        handle.write(f"contents of {name}\n")

with mlflow.start_run(run_name="mlf107-flagged"):
    for filename in os.listdir(output_dir):
        mlflow.log_artifact(os.path.join(output_dir, filename), artifact_path="evaluation")

    for path in Path(output_dir).iterdir():
        mlflow.log_artifact(str(path), artifact_path="copies")
