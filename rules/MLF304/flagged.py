"""Log the final score after the run block closed: it lands in a new, unnamed run."""

import mlflow

with mlflow.start_run(run_name="mlf304-flagged"):
    for epoch in range(2):
        mlflow.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch)

mlflow.log_metric("final_score", 0.93)
mlflow.end_run()
