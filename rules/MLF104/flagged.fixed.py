"""Tag a run with its progress after each epoch, and tag each run a search finds, one
request per tag."""

import mlflow
from mlflow.entities import RunTag

EPOCHS = 3


def on_epoch_end(epoch, accuracy):
    """Where training is, for the runs table while it trains."""
    mlflow.log_metric("accuracy", accuracy, step=epoch)
    mlflow.set_tags(
        {
            "status": "training",
            "last_epoch": epoch,
            "last_accuracy": accuracy,
        },
    )


with mlflow.start_run(run_name="mlf104-flagged") as run:
    for epoch in range(EPOCHS):
        on_epoch_end(epoch, round(0.5 + epoch / 10, 4))
    mlflow.set_tag("status", "trained")

# mark every run of the experiment that finished training as due for review
client = mlflow.MlflowClient()
for found in client.search_runs([run.info.experiment_id], "tags.status = 'trained'"):
    client.log_batch(
        found.info.run_id,
        tags=[
            RunTag(key="review", value="pending"),
            RunTag(key="reviewer", value="nightly"),  # the job that reviews it
        ],
    )
