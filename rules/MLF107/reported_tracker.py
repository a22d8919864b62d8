"""An experiment tracker class of a training library: a lazily created client, files
uploaded one call at a time (reported, no automatic fix)."""

import json
import os
import tempfile
from typing import Optional

from mlflow import MlflowClient


class MlflowTracker:
    def __init__(self, experiment_name: str):
        self.experiment_name = experiment_name
        self._client: Optional[MlflowClient] = None
        self.run_id: Optional[str] = None

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient()
        return self._client

    def start(self) -> None:
        experiment = self.client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            experiment_id = self.client.create_experiment(self.experiment_name)
        else:
            experiment_id = experiment.experiment_id
        run = self.client.create_run(experiment_id, run_name="tracker")
        self.run_id = run.info.run_id

    def log_files(self, paths: list[str], folder: str) -> None:
        for path in paths:
            self.client.log_artifact(self.run_id, path, artifact_path=folder)

    def close(self, config_path: str, requirements_path: str, summary_path: str) -> None:
        self.client.log_artifact(self.run_id, config_path)
        self.client.log_artifact(self.run_id, requirements_path)
        self.client.log_artifact(self.run_id, summary_path)
        self.client.set_terminated(self.run_id)


if __name__ == "__main__":
    workdir = tempfile.mkdtemp()

    def write(name: str, content: object) -> str:
        path = os.path.join(workdir, name)
        with open(path, "w") as out:
            json.dump(content, out)
        return path

    tracker = MlflowTracker(os.environ.get("MLFLOW_EXPERIMENT_NAME", "tracker"))
    tracker.start()
    shards = [write(f"predictions_{shard}.json", {"shard": shard}) for shard in range(5)]
    tracker.log_files(shards, "predictions")
    tracker.close(
        write("config.json", {"lr": 0.01}),
        write("requirements.json", ["torch", "mlflow"]),
        write("summary.json", {"accuracy": 0.9}),
    )
