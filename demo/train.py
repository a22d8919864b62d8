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
CONFIG = {"learning_rate": 0.01, "batch_size": 32, "optimizer": "adam", "epochs": EPOCHS}


def train_batch(epoch: int, batch: int) -> float:
    return 1.0 / (1 + epoch * BATCHES + batch) + random.random() / 100


def main(output_dir: str) -> None:
    with mlflow.start_run(run_name="demo"):
        for key, value in CONFIG.items():  # the whole training config
            mlflow.log_param(key, value)
        mlflow.set_tag("host", os.uname().nodename)
        mlflow.set_tag("dataset", "demo")

        for epoch in range(EPOCHS):
            for batch in range(BATCHES):
                loss = train_batch(epoch, batch)
                mlflow.log_metric("train_loss", loss, step=epoch * BATCHES + batch)
            mlflow.log_metric("epoch", epoch, step=epoch)
            mlflow.log_metric("val_loss", loss * 1.1, step=epoch)

        for name in os.listdir(output_dir):
            mlflow.log_artifact(os.path.join(output_dir, name))


if __name__ == "__main__":
    main("outputs")
