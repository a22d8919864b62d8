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
    mlflow.log_artifacts(local_dir=output_dir, artifact_path="evaluation")

    mlflow.log_artifacts(local_dir=Path(output_dir), artifact_path="copies")
