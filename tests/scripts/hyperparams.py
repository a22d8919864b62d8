"""Record the configuration of a small classifier run, then train it."""

import mlflow

CONFIG = {
    "hidden_units": 64,
    "dropout": 0.25,
    "activation": "relu",
    "use_batch_norm": True,
}


def accuracy_after(epochs, hidden_units, dropout):
    # A made-up but deterministic learning curve.
    return round(1 - 0.5 / (1 + epochs * hidden_units * (1 - dropout) / 100), 6)


def on_batch_end(step, acc):
    """Where training is, for the runs table while it trains."""
    mlflow.set_tag("last_step", step)
    mlflow.set_tag("last_accuracy", acc)


with mlflow.start_run(run_name="classifier-config"):
    mlflow.log_param("model", "mlp")
    mlflow.log_param("hidden_units", CONFIG["hidden_units"])
    mlflow.log_param("dropout", CONFIG["dropout"])
    mlflow.log_param("activation", CONFIG["activation"])
    mlflow.log_param("use_batch_norm", CONFIG["use_batch_norm"])
    mlflow.log_param("learning_rate", 1e-3)
    mlflow.log_param("layers", [64, 32])
    mlflow.log_param("class_weights", None)
    mlflow.log_param("optimizer", "adam")
    mlflow.log_param("batch_size", 32)

    mlflow.set_tag("team", "vision")
    mlflow.set_tag("task", "classification")
    mlflow.set_tag("priority", 2)
    mlflow.set_tag("reviewed", False)

    epochs = 5
    mlflow.log_param("epochs", epochs)
    for epoch in range(epochs):
        acc = accuracy_after(epoch + 1, CONFIG["hidden_units"], CONFIG["dropout"])
        mlflow.log_metrics({"accuracy": acc, "error": round(1 - acc, 6)}, step=epoch)
        for batch in range(2):
            on_batch_end(epoch * 2 + batch, acc)

    mlflow.set_tag("status", "trained")
    mlflow.set_tag("best_epoch", epochs - 1)
