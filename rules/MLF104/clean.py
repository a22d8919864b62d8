"""Tags that are already batched, separated by other work, fewer than ten set once per run
in a function (a few requests saved once per run are not worth a finding), fewer than five
once per epoch, on an error path, or in a test."""

import mlflow

with mlflow.start_run(run_name="mlf104-clean"):
    mlflow.set_tags({"team": "vision", "stage": "experiment"})
    mlflow.set_tag("status", "training")
    mlflow.log_metric("accuracy", 0.91)
    mlflow.set_tag("status", "done")

    # a script's own code runs once per run: fewer than ten calls (option `min-calls-once`)
    # are not reported, a few requests saved once are noise next to a training loop's logging
    mlflow.set_tag("team", "vision")
    mlflow.set_tag("stage", "experiment")


def tag_source(run_id, dirty):
    """Called once per run: merging four tags saves three requests per run."""
    client = mlflow.MlflowClient()
    client.set_tag(run_id, "source", "nightly")
    client.set_tag(run_id, "git_dirty", str(dirty))
    client.set_tag(run_id, "team", "vision")
    client.set_tag(run_id, "stage", "experiment")


def on_epoch_end(epoch, accuracy):
    """Once per epoch, the granularity MLflow recommends: fewer than five calls (option
    `min-calls-epoch`) save a request or two per epoch."""
    mlflow.set_tag("status", "training")
    mlflow.set_tag("last_epoch", epoch)
    mlflow.set_tag("last_accuracy", accuracy)


def train_in_half_precision(train):
    try:
        return train("fp16")
    except FloatingPointError as error:
        # the error path: rare, and the run is about to fail anyway
        mlflow.set_tag("precision_fallback", "fp32")
        mlflow.set_tag("failure_reason", str(error))
        mlflow.set_tag("failed_at", "train")
        raise


def test_tags_are_stored(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlruns.db")
    with mlflow.start_run() as run:
        mlflow.set_tag("a", "1")
        mlflow.set_tag("b", "2")
        mlflow.set_tag("c", "3")
    assert mlflow.get_run(run.info.run_id).data.tags["c"] == "3"
