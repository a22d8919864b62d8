"""Train with settings kept in dictionaries, logging each dictionary entry by entry."""

import mlflow

params = {
    "optimizer": "sgd",
    "learning_rate": 0.01,
    "momentum": 0.9,
    "nesterov": True,
    "batch_size": 32,
}
tags = {"team": "forecasting", "stage": "dev", "dataset": "synthetic-v2"}


def evaluate(epoch):
    loss = round(2.0 / (epoch + 1) + 0.1, 6)
    return {"loss": loss, "mae": round(loss / 2, 6), "coverage": round(0.8 + epoch / 100, 6)}


with mlflow.start_run(run_name="dict-loops"):
    for name, value in params.items():
        mlflow.log_param(name, value)

    for key, value in tags.items():
        mlflow.set_tag(key, value)

    for epoch in range(6):
        metrics = evaluate(epoch)
        for metric, score in metrics.items():
            mlflow.log_metric(metric, score, step=epoch)

    summary = {"epochs": 6, "final_loss": evaluate(5)["loss"]}
    for k, v in summary.items():
        mlflow.log_metric(k, v)
