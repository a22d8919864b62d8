"""Parameter logging that is already batched or must stay as it is."""

import mlflow

with mlflow.start_run(run_name="mlf103-clean"):
    mlflow.log_params({"optimizer": "adam", "weight_decay": 0.0001})

    seed = mlflow.log_param("seed", 42)  # the returned value is used
    mlflow.log_param("data_version", "v3")
