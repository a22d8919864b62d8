"""Tag a run with its progress after each batch, and tag each run a search finds, one
request per tag."""

import mlflow
from mlflow.entities import RunTag

STEPS = 3


def on_batch_end(step, accuracy):
    """Where training is, for the runs table while it trains."""
    mlflow.set_tags(
        {
            "status": "training",
            "last_step": step,
            "last_accuracy": accuracy,
        },
    )


with mlflow.start_run(run_name="mlf104-flagged") as run:
    for step in range(STEPS):
        on_batch_end(step, round(0.5 + step / 10, 4))
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
