"""Start a run, train, end the run: an exception in between leaves it RUNNING."""

import mlflow


def train(epochs):
    run = mlflow.start_run(run_name="mlf302-flagged")
    for epoch in range(epochs):
        mlflow.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)
    mlflow.set_tag("run_id", run.info.run_id)
    mlflow.end_run()


train(3)
