"""Record the hyperparameters of a training run, one request per parameter."""

import mlflow

config = {"model": "resnet18", "epochs": 3, "optimizer": "adam"}
learning_rate = 0.001

with mlflow.start_run(run_name="mlf103-flagged"):
    mlflow.log_param("model", config["model"])
    mlflow.log_param("epochs", config["epochs"])
    mlflow.log_param("optimizer", config["optimizer"])
    mlflow.log_param("learning_rate", learning_rate)
    mlflow.log_param("weight_decay", 0.0001)  # L2 penalty
    mlflow.log_param("warmup_steps", 500)
    mlflow.log_param("dropout", 0.1)
    mlflow.log_param("label_smoothing", 0.1)
    mlflow.log_param("batch_size", 32)
    mlflow.log_param("seed", 42)
    mlflow.log_param("use_amp", True)


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
        self.client.log_param(self.run_id, "optimizer", optimizer)
        self.client.log_param(self.run_id, "weight_decay", weight_decay)  # L2 penalty
        self.client.log_param(self.run_id, "beta1", betas[0])
        self.client.log_param(self.run_id, "beta2", betas[1])
        self.client.log_param(self.run_id, "eps", eps)
        self.client.log_param(self.run_id, "amsgrad", False)
        self.client.log_param(self.run_id, "max_grad_norm", 1.0)
        self.client.log_param(self.run_id, "grad_accumulation", 4)
        self.client.log_param(self.run_id, "precision", "bf16")
        self.client.log_param(self.run_id, "compile", False)
        self.client.set_tag(self.run_id, "tracker", "ExperimentTracker")


with mlflow.start_run(run_name="mlf103-tracker") as run:
    ExperimentTracker(run.info.run_id).log_hyperparams("adam", 0.0001, (0.9, 0.999), 1e-8)
