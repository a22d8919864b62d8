"""Record the hyperparameters of a training run, one request per parameter."""

import mlflow

config = {"model": "resnet18", "epochs": 3}
learning_rate = 0.001

with mlflow.start_run(run_name="mlf103-flagged"):
    mlflow.log_params(
        {
            "model": config["model"],
            "epochs": config["epochs"],
            "learning_rate": learning_rate,
            "batch_size": 32,
            "use_amp": True,
        },
    )
