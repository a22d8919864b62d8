"""Two seeds of the same experiment, logged through import aliases."""

import random

import mlflow as mf
from mlflow import log_metric as lm
from mlflow import log_param, set_tag

STEPS = 5


def run_seed(seed):
    rng = random.Random(seed)
    with mf.start_run():
        log_param("seed", seed)
        log_param("steps", STEPS)
        set_tag("sweep", "seeds")
        set_tag("variant", f"seed-{seed}")
        value = 1.0
        for step in range(STEPS):
            value = round(value * (0.8 + rng.random() / 10), 6)
            lm("loss", value, step=step)
            lm("accuracy", round(1 - value / 2, 6), step=step)
        mf.log_metric("final_loss", value)
        mf.log_metric("final_accuracy", round(1 - value / 2, 6))


for seed in range(2):
    run_seed(seed)
