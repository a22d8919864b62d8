"""A seed sweep written as a script: one run per seed, opened in the loop itself."""

import random

import mlflow

STEPS = 5

for seed in range(2):
    rng = random.Random(seed)
    with mlflow.start_run():
        mlflow.log_param("seed", seed)
        mlflow.log_param("steps", STEPS)
        mlflow.log_param("optimizer", "sgd")
        mlflow.log_param("learning_rate", 0.1)
        mlflow.log_param("momentum", 0.9)
        mlflow.log_param("batch_size", 32)
        mlflow.log_param("weight_decay", 0.0)
        mlflow.log_param("warmup_steps", 0)
        mlflow.log_param("dataset", "toy")
        mlflow.log_param("generator", "random.Random")
        mlflow.set_tag("sweep", "seeds")
        mlflow.set_tag("variant", f"seed-{seed}")
        value = 1.0
        for step in range(STEPS):
            value = round(value * (0.8 + rng.random() / 10), 6)
            mlflow.log_metric("loss", value, step=step)
            mlflow.log_metric("accuracy", round(1 - value / 2, 6), step=step)
            # where the trial is, for the runs table while it trains
            mlflow.set_tag("last_step", step)
            mlflow.set_tag("last_loss", value)
        mlflow.log_metric("final_loss", value)
        mlflow.log_metric("final_accuracy", round(1 - value / 2, 6))
