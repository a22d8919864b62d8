"""Small artifacts logged once, a fixed set of distinct named ones, and images."""

import tempfile
from pathlib import Path

import mlflow
import numpy as np

report_dir = Path(tempfile.mkdtemp())
for name in ("summary", "errors", "latency", "coverage"):
    (report_dir / f"{name}.txt").write_text(f"{name}: ok\n")
reports = {"confusion": {"tp": 8, "fp": 2}, "thresholds": {"best": 0.5}, "classes": {"n": 3}}

with mlflow.start_run(run_name="mlf109-clean"):
    summaries = []
    for epoch in range(3):
        summaries.append({"epoch": epoch, "loss": round(1.0 / (epoch + 1), 4)})
        mlflow.log_metrics({"loss": summaries[-1]["loss"]}, step=epoch)
        # The latest state, overwritten each epoch like a checkpoint.
        mlflow.log_dict(summaries[-1], "state/latest.json")
    mlflow.log_dict({"epochs": summaries}, "summaries.json")
    mlflow.log_table({"epoch": [s["epoch"] for s in summaries]}, artifact_file="epochs.json")

    # Distinct named artifacts: each is its own document.
    for name, report in reports.items():
        mlflow.log_dict(report, f"reports/{name}.json")
    for path in sorted(report_dir.glob("*.txt")):
        mlflow.log_text(path.read_text(), path.name)

    # One picked entry.
    for name, report in reports.items():
        if name == "confusion":
            mlflow.log_dict(report, f"picked/{name}.json")

# Figures and images are documents of their own: one upload each, however they are sent.
with mlflow.start_run(run_name="mlf109-clean-figures"):
    for epoch in range(3):
        mlflow.log_image(np.full((4, 4, 3), epoch, dtype=np.uint8), f"predictions/epoch_{epoch}.png")
