"""Batched metrics logged every N steps, or once per epoch."""

import mlflow

with mlflow.start_run(run_name="mlf901-clean"):
    for epoch in range(2):
        for batch in range(3):
            step = epoch * 3 + batch
            if step % 2 == 0:
                mlflow.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
        mlflow.log_metrics({"epoch_loss": 1.0 / (epoch + 1)}, step=epoch)
