"""Parameters logged once per run, including in a hyperparameter sweep."""

import mlflow

grid = [0.1, 0.01]

for learning_rate in grid:
    with mlflow.start_run(run_name=f"mlf106-clean-lr={learning_rate}"):
        mlflow.log_param("learning_rate", learning_rate)
        for epoch in range(2):
            mlflow.log_metrics({"loss": learning_rate / (epoch + 1)}, step=epoch)

with mlflow.start_run(run_name="mlf106-clean"):
    mlflow.log_param("optimizer", "sgd")
    for epoch in range(2):
        mlflow.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)
    mlflow.set_tag("status", "done")

# A run per iteration without `with`: started when tracking is on, ended on every path.
tracking = True
for learning_rate in grid:
    if tracking:
        mlflow.start_run(run_name=f"mlf106-clean-manual-lr={learning_rate}")
    try:
        mlflow.log_param("learning_rate", learning_rate)
        mlflow.log_metric("score", learning_rate * 10)
    finally:
        if tracking:
            mlflow.end_run()

with mlflow.start_run(run_name="mlf106-clean-splits"):
    # A written-out handful of distinct keys: three requests, like three statements.
    for split in ("train", "val", "test"):
        mlflow.log_param(f"{split}_rows", 1000)
