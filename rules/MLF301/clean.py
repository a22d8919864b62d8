"""Each param once per run; a changing value as a metric."""

import mlflow

with mlflow.start_run(run_name="mlf301-clean"):
    mlflow.log_params({"learning_rate": 0.1, "optimizer": "sgd"})
    for epoch, lr in enumerate([0.1, 0.05, 0.01]):
        mlflow.log_metrics({"learning_rate": lr}, step=epoch)
    if epoch > 1:
        mlflow.log_param("schedule", "step")
    else:
        mlflow.log_param("schedule", "constant")

for lr in [0.1, 0.01]:  # a sweep: one run per value
    with mlflow.start_run(run_name=f"mlf301-clean-{lr}"):
        mlflow.log_param("learning_rate", lr)

EPOCHS = 3

with mlflow.start_run(run_name="mlf301-clean-constant"):
    mlflow.log_param("epochs", EPOCHS)
    for epoch in range(EPOCHS):
        mlflow.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
    mlflow.log_param("epochs", EPOCHS)  # the same value again: MLflow accepts it


def load_data(cached=None, path="train.csv"):
    if cached is not None:  # this branch returns: the calls below never follow it
        mlflow.log_param("data_source", "cache")
        return cached
    mlflow.log_param("data_source", "file")
    return path


with mlflow.start_run(run_name="mlf301-clean-early-return"):
    load_data()
