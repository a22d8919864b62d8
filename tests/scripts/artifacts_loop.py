"""Write per-class reports to a temporary folder and upload them file by file."""

import json
import os
import tempfile
from pathlib import Path

import mlflow

CLASSES = ["cat", "dog", "bird", "fish"]


def report(index, name):
    return {"class": name, "precision": round(0.7 + index / 20, 3), "support": 10 * (index + 1)}


with mlflow.start_run(run_name="reports"), tempfile.TemporaryDirectory() as tmp:
    reports = os.path.join(tmp, "reports")
    os.mkdir(reports)
    for index, name in enumerate(CLASSES):
        with open(os.path.join(reports, f"{name}.json"), "w") as out:
            json.dump(report(index, name), out, sort_keys=True)

    for filename in sorted(os.listdir(reports)):
        mlflow.log_artifact(os.path.join(reports, filename))

    plots = Path(tmp) / "plots"
    plots.mkdir()
    for index, name in enumerate(CLASSES):
        (plots / f"{name}.csv").write_text(f"threshold,recall\n0.5,{0.6 + index / 10:.2f}\n")
    for path in sorted(plots.iterdir()):
        mlflow.log_artifact(str(path), artifact_path="plots")

    mlflow.log_metric("classes", len(CLASSES))
