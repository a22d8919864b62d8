"""Log the loss every epoch, but without a step."""

import mlflow

with mlflow.start_run(run_name="mlf108-flagged"):
    for epoch in range(3):
        loss = round(1.0 / (epoch + 1), 4)
        mlflow.log_metric("loss", loss, step=epoch)

    for step, batch_size in enumerate([32, 64]):
        mlflow.log_metrics({"batch_size": batch_size}, step=step)
