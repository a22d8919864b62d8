"""Export the reports and figures an evaluation wrote to disk into an MLflow run."""

import json
import os
import tempfile
from pathlib import Path

import mlflow


def write_reports(report_dir: str) -> None:
    scores = {"accuracy": 0.91, "precision": 0.88, "recall": 0.84, "f1": 0.86}
    for metric, score in scores.items():
        with open(os.path.join(report_dir, f"{metric}.json"), "w") as out:
            json.dump({"metric": metric, "score": score}, out)


def write_figures(figure_dir: Path) -> None:
    for threshold in (0.25, 0.5, 0.75):
        (figure_dir / f"pr_{threshold}.csv").write_text(f"threshold,recall\n{threshold},0.8\n")


def export_reports(report_dir: str) -> None:
    mlflow.log_artifacts(local_dir=report_dir, artifact_path="reports")


def export_figures(figure_dir: Path) -> None:
    mlflow.log_artifacts(local_dir=figure_dir, artifact_path="figures")


if __name__ == "__main__":
    workdir = Path(tempfile.mkdtemp())
    (workdir / "reports").mkdir()
    (workdir / "figures").mkdir()
    write_reports(str(workdir / "reports"))
    write_figures(workdir / "figures")
    with mlflow.start_run(run_name="evaluation-export"):
        export_reports(str(workdir / "reports"))
        export_figures(workdir / "figures")
