"""Loops over mappings that do more than log each item."""

import mlflow

class_scores = {"cat": 0.91, "dog": 0.88, "bird": 0.75}

with mlflow.start_run(run_name="mlf105-clean"):
    mlflow.log_metrics(class_scores, step=10)

    good = {}
    for label, score in class_scores.items():
        if score > 0.8:  # filtered: not every item is logged
            good[f"good_{label}"] = "yes"
    mlflow.set_tags(good)

    for label, score in class_scores.items():
        print(f"{label}: {score:.2f}")
        mlflow.log_metrics({f"f1_{label}": score}, step=10)  # the body does more than log

# a script's own loop over a run's few names runs once per run: a handful of requests
hyperparameters = {"learning_rate": 0.01, "max_depth": 6, "subsample": 0.8}
with mlflow.start_run(run_name="mlf105-clean-config"):
    for name, setting in hyperparameters.items():
        mlflow.log_param(name, setting)
