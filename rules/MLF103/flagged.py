"""Record the hyperparameters of a training run, one request per parameter."""

import mlflow

config = {"model": "resnet18", "epochs": 3}
learning_rate = 0.001

with mlflow.start_run(run_name="mlf103-flagged"):
    mlflow.log_param("model", config["model"])
    mlflow.log_param("epochs", config["epochs"])
    mlflow.log_param("learning_rate", learning_rate)
    mlflow.log_param("batch_size", 32)
    mlflow.log_param("use_amp", True)
