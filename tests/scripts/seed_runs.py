"""A seed sweep written as a script: one run per seed, opened in the loop itself."""

import random

import mlflow

STEPS = 5

for seed in range(2):
    rng = random.Random(seed)
    with mlflow.start_run():
        mlflow.log_param("seed", seed)
        mlflow.log_param("steps", STEPS)
        mlflow.set_tag("sweep", "seeds")
        mlflow.set_tag("variant", f"seed-{seed}")
        value = 1.0
        for step in range(STEPS):
            value = round(value * (0.8 + rng.random() / 10), 6)
            mlflow.log_metric("loss", value, step=step)
            mlflow.log_metric("accuracy", round(1 - value / 2, 6), step=step)
        mlflow.log_metric("final_loss", value)
        mlflow.log_metric("final_accuracy", round(1 - value / 2, 6))
