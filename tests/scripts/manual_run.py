"""Fit a baseline with a run opened and ended by hand, as notebooks often do."""

import mlflow

TARGETS = [3.0, 4.5, 4.0, 5.5]

run = mlflow.start_run(run_name="baseline")
mlflow.log_param("model", "mean-predictor")
prediction = sum(TARGETS) / len(TARGETS)  # the fit: the work a crash would interrupt
for day, target in enumerate(TARGETS):
    mlflow.log_metric("target", target, step=day)
mlflow.log_metric("mae", sum(abs(t - prediction) for t in TARGETS) / len(TARGETS))
mlflow.end_run()
