"""A small training script with the logging habits mlflow-lint finds (see the README).

`mlflow-lint check demo/` reports them, `mlflow-lint check --diff demo/` shows the fixes
without writing anything. This file is a demonstration, not a test fixture: fixing it is fine
(`git checkout demo/` brings it back).
"""

import os
import random

import mlflow

EPOCHS = 5
BATCHES = 100
VAL_BATCHES = 20
CONFIG = {"learning_rate": 0.01, "batch_size": 32, "optimizer": "adam", "epochs": EPOCHS}


def train_batch(epoch: int, batch: int) -> float:
    return 1.0 / (1 + epoch * BATCHES + batch) + random.random() / 100


def main(output_dir: str) -> None:
    with mlflow.start_run(run_name="demo"):
        mlflow.log_params(CONFIG)
        mlflow.set_tags({"host": os.uname().nodename, "dataset": "demo"})

        for epoch in range(EPOCHS):
            for batch in range(BATCHES):
                loss = train_batch(epoch, batch)
                mlflow.log_metric("train_loss", loss, step=epoch * BATCHES + batch)
            scores = {"val_loss": loss * 1.1, "val_accuracy": 1.0 - loss}
            for name, value in scores.items():  # the epoch's validation scores
                mlflow.log_metric(name, value, step=epoch)
            mlflow.log_metric("epoch", epoch, step=epoch)
            mlflow.log_metric("learning_rate", CONFIG["learning_rate"], step=epoch)
            for batch in range(VAL_BATCHES):  # validation, batch by batch
                val_loss = train_batch(epoch, batch) * 1.1
                step = epoch * VAL_BATCHES + batch
                mlflow.log_metric("val_batch_loss", val_loss, step=step)
                mlflow.log_metric("val_batch_accuracy", 1.0 - val_loss, step=step)

        for filename in os.listdir(output_dir):
            mlflow.log_artifact(os.path.join(output_dir, filename))


if __name__ == "__main__":
    main("outputs")
