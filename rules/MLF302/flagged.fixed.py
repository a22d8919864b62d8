"""Start a run, train, end the run: an exception in between leaves it RUNNING."""

import mlflow


def train(epochs):
    with mlflow.start_run(run_name="mlf302-flagged") as run:
        for epoch in range(epochs):
            mlflow.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)
        mlflow.set_tag("run_id", run.info.run_id)


train(3)
