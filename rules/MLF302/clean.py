"""Runs that end whatever happens."""

import mlflow


def train(epochs):
    with mlflow.start_run(run_name="mlf302-clean"):
        for epoch in range(epochs):
            mlflow.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)


def evaluate():
    mlflow.start_run(run_name="mlf302-clean-eval")
    try:
        mlflow.log_metric("accuracy", 0.9)
    finally:
        mlflow.end_run()


class MlflowCallback:
    """A training-framework callback: one hook starts the run, another ends it."""

    def on_train_begin(self):
        mlflow.start_run(run_name="mlf302-clean-callback")

    def on_train_end(self):
        mlflow.end_run()


train(2)
evaluate()
callback = MlflowCallback()
callback.on_train_begin()
callback.on_train_end()
