"""Log parameters inside the training loop."""

import mlflow

EPOCHS = 3

with mlflow.start_run(run_name="mlf106-flagged"):
    for epoch in range(EPOCHS):
        mlflow.log_param("optimizer", "sgd")
        mlflow.set_tag(f"epoch_{epoch}_status", "done")
        mlflow.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)
