"""Asynchronous logging in a script that never ends its run: points are lost at exit."""

import mlflow

mlflow.config.enable_async_logging()
mlflow.start_run(run_name="mlf305-flagged")
for step in range(100):
    mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)
