"""Parameter logging that is already batched or must stay as it is."""

import mlflow

with mlflow.start_run(run_name="mlf103-clean"):
    mlflow.log_params({"optimizer": "adam", "weight_decay": 0.0001})

    seed = mlflow.log_param("seed", 42)  # the returned value is used
    mlflow.log_param("data_version", "v3")

    # a script's own code runs once per run: fewer than ten calls (option `min-calls-once`)
    # are not reported, a few requests saved once are noise next to a training loop's logging
    mlflow.log_param("model", "resnet18")
    mlflow.log_param("epochs", 3)
    mlflow.log_param("batch_size", 32)


def log_setup(model_name, epochs):
    """Called once per run: fewer than ten params (option `min-calls-once`) save a few
    requests once per run, noise next to a training loop's logging."""
    mlflow.log_param("model", model_name)
    mlflow.log_param("epochs", epochs)
    mlflow.log_param("batch_size", 32)
    mlflow.log_param("use_amp", True)
