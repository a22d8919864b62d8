"""Runs that end whatever happens, and runs meant to outlive the function that starts them."""

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


# A training framework's callbacks, written as functions: one starts the run, another ends
# it with the outcome (the framework calls on_train_end from its own error handling too).
def on_train_begin(trainer):
    mlflow.start_run(run_name=trainer["name"])
    mlflow.log_params(trainer["args"])


def on_train_end(trainer, status="FINISHED"):
    mlflow.end_run(status=status)


def resume(parent_run_id):
    """Log into a run the caller owns: re-activate it only when nothing is active."""
    if mlflow.active_run() is None:
        mlflow.start_run(run_id=parent_run_id)
    mlflow.log_metric("resumed", 1)


def count_shards(run_id, shards):
    """A worker joins the run whose id its caller hands it: the caller owns it and ends it."""
    mlflow.start_run(run_id=run_id)
    mlflow.log_metric("shards", len(shards))


def create_run(name):
    """The run is handed to the caller, who ends it."""
    run = mlflow.start_run(run_name=name)
    mlflow.set_tag("created_by", "mlf302-clean")
    return run


def record_results(results, name):
    """Only logging between the start and its end: a window a few requests wide."""
    mlflow.start_run(run_name=name)
    mlflow.log_metrics({key: float(value) for key, value in results.items()})
    mlflow.set_tag("source", "results.json")
    mlflow.end_run()


train(2)
evaluate()
on_train_begin({"name": "mlf302-clean-callback", "args": {"lr": 0.1}})
on_train_end({})
with mlflow.start_run(run_name="mlf302-clean-parent") as parent:
    pass
resume(parent.info.run_id)
mlflow.end_run()
count_shards(parent.info.run_id, ["a", "b"])
mlflow.end_run()
create_run("mlf302-clean-created")
mlflow.end_run()
record_results({"accuracy": 0.9, "loss": 0.1}, "mlf302-clean-results")
