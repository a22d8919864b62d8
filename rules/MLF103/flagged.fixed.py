"""Record the hyperparameters of a training run, one request per parameter."""

import mlflow
from mlflow.entities import Param

config = {"model": "resnet18", "epochs": 3, "optimizer": "adam"}
learning_rate = 0.001

with mlflow.start_run(run_name="mlf103-flagged"):
    mlflow.log_params(
        {
            "model": config["model"],
            "epochs": config["epochs"],
            "optimizer": config["optimizer"],
            "learning_rate": learning_rate,
            "weight_decay": 0.0001,  # L2 penalty
            "warmup_steps": 500,
            "dropout": 0.1,
            "label_smoothing": 0.1,
            "batch_size": 32,
            "seed": 42,
            "use_amp": True,
        },
    )


class ExperimentTracker:
    """A tracker class as integrations write them: a lazy client, one run."""

    def __init__(self, run_id, tracking_uri=None):
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(self.tracking_uri)
        return self._client

    def log_hyperparams(self, optimizer, weight_decay, betas, eps):
        self.client.log_batch(
            self.run_id,
            params=[
                Param(key="optimizer", value=str(optimizer)),
                Param(key="weight_decay", value=str(weight_decay)),  # L2 penalty
                Param(key="beta1", value=str(betas[0])),
                Param(key="beta2", value=str(betas[1])),
                Param(key="eps", value=str(eps)),
                Param(key="amsgrad", value="False"),
                Param(key="max_grad_norm", value="1.0"),
                Param(key="grad_accumulation", value="4"),
                Param(key="precision", value="bf16"),
                Param(key="compile", value="False"),
            ],
        )
        self.client.set_tag(self.run_id, "tracker", "ExperimentTracker")


with mlflow.start_run(run_name="mlf103-tracker") as run:
    ExperimentTracker(run.info.run_id).log_hyperparams("adam", 0.0001, (0.9, 0.999), 1e-8)
