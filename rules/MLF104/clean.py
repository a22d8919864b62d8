"""Tags that are already batched, or separated by other work."""

import mlflow

with mlflow.start_run(run_name="mlf104-clean"):
    mlflow.set_tags({"team": "vision", "stage": "experiment"})
    mlflow.set_tag("status", "training")
    mlflow.log_metric("accuracy", 0.91)
    mlflow.set_tag("status", "done")
