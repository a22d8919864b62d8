"""Tag a run with its progress after each batch, and tag each run a search finds, one
request per tag."""

import mlflow

STEPS = 3


def on_batch_end(step, accuracy):
    """Where training is, for the runs table while it trains."""
    mlflow.set_tag("status", "training")
    mlflow.set_tag("last_step", step)
    mlflow.set_tag("last_accuracy", accuracy)


with mlflow.start_run(run_name="mlf104-flagged") as run:
    for step in range(STEPS):
        on_batch_end(step, round(0.5 + step / 10, 4))
    mlflow.set_tag("status", "trained")

# mark every run of the experiment that finished training as due for review
client = mlflow.MlflowClient()
for found in client.search_runs([run.info.experiment_id], "tags.status = 'trained'"):
    client.set_tag(found.info.run_id, "review", "pending")
    client.set_tag(found.info.run_id, "reviewer", "nightly")  # the job that reviews it
