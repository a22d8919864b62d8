"""Two seeds of the same experiment, logged into one run through import aliases."""

import random

import mlflow as mf
from mlflow import log_metric as lm
from mlflow import log_param, set_tag

STEPS = 5

with mf.start_run():
    for seed in range(2):
        rng = random.Random(seed)
        # the sweep's settings, the same for every seed: logging a param again with the
        # same value is a no-op (five of each: fewer are not reported once per seed, a loop
        # around a loop of steps, as once per epoch)
        log_param("steps", STEPS)
        log_param("sweep", "seeds")
        log_param("optimizer", "sgd")
        log_param("schedule", "constant")
        log_param("precision", "fp32")
        set_tag("sweep", "seeds")
        set_tag(f"variant_{seed}", f"seed-{seed}")
        set_tag("team", "research")
        set_tag("stage", "experiment")
        set_tag("seeded", "yes")
        value = 1.0
        for step in range(STEPS):
            value = round(value * (0.8 + rng.random() / 10), 6)
            lm("loss", value, step=seed * STEPS + step)
            lm("accuracy", round(1 - value / 2, 6), step=seed * STEPS + step)
        mf.log_metric(f"final_loss_{seed}", value)
        mf.log_metric(f"final_accuracy_{seed}", round(1 - value / 2, 6))
